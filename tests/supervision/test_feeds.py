"""``GET /calendar/<token>.ics``: tokens, 404s that leak nothing, ETag/304, caching."""

import threading
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
from sqlmodel import select

import notify.feeds
from notify.server import create_server
from roster.settings import Settings
from roster.supervision.agreements import create_group
from roster.supervision.changes import postpone
from roster.supervision.models import CalendarFeedToken, SupervisionSession
from roster.supervision.planner import plan_year
from roster.supervision.series import load_series
from roster.supervision.tokens import FeedSubject, TokenExists, hash_token, issue_token, revoke_tokens
from roster.timeutil import LONDON
from tests.fake_twilio import ServerThread

from tests.supervision.calendar_checks import check_calendar, parse
from tests.supervision.conftest import NOW, agree

FEED_TIME = datetime(2027, 6, 15, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def planned(session, make_person, make_team):
    team = make_team("North Outreach")
    manager = make_person("Morgan Ellis", role="manager", team=team)
    worker = make_person("Sam Okafor", team=team)
    other = make_person("Alex Rivera", team=team)
    agree(session, manager, worker, weekday=0, frequency="2w")
    agree(session, manager, other, weekday=2, frequency="4w")
    create_group(session, "Team meeting North", "team_meeting", manager, [worker, other], team_id=team.id,
                 starts_on=date(2027, 1, 4), weekday=4, duration_minutes=60, now=NOW)
    session.commit()
    plan_year(session, 2027, now=NOW)
    plan_year(session, 2028, now=NOW)
    return team, manager, worker


@pytest.fixture
def client(engine):
    app = create_server(Settings(), engine)
    app.state.clock = lambda: FEED_TIME
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def test_the_right_token_gets_the_persons_calendar(session, planned, client):
    _, _, worker = planned
    token = issue_token(session, FeedSubject(person_id=worker.id, team_id=None), now=NOW)
    assert len(token) >= 43  # 256 bits, URL-safe

    response = client.get(f"/calendar/{token}.ics")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["etag"] and response.headers["last-modified"]
    rows = [r for r in session.exec(select(SupervisionSession)) if worker.id in _attendees(session, r)]
    window = [r for r in rows if date(2027, 3, 15) <= r.starts_at.astimezone(LONDON).date() < date(2028, 6, 15)]
    assert len(window) < len(rows)  # three months back to twelve months ahead, not everything
    check_calendar(response.content, window, load_series(session))


def _attendees(session, row):
    series = {s.key: s for s in load_series(session)}
    key = ("agreement", row.agreement_id) if row.agreement_id else ("group", row.group_id)
    return series[key].attendee_ids


def test_tokens_are_stored_only_as_hashes(session, planned):
    _, _, worker = planned
    token = issue_token(session, FeedSubject(person_id=worker.id, team_id=None), now=NOW)
    stored = session.exec(select(CalendarFeedToken)).one()
    assert stored.token_hash == hash_token(token) and token not in stored.token_hash
    with pytest.raises(TokenExists):
        issue_token(session, FeedSubject(person_id=worker.id, team_id=None), now=NOW)


def test_wrong_rotated_and_revoked_tokens_get_the_same_bare_404(session, planned, client):
    _, manager, worker = planned
    subject = FeedSubject(person_id=worker.id, team_id=None)
    old = issue_token(session, subject, now=NOW)
    new = issue_token(session, subject, now=NOW, rotate=True)
    unknown_path = client.get("/no/such/page")

    for token in ("wrong-token", old, old[:-1], "x" * 500, new + "x"):
        response = client.get(f"/calendar/{token}.ics")
        assert response.status_code == 404
        assert response.content == unknown_path.content
        assert "etag" not in response.headers
    assert client.get(f"/calendar/{new}.ics").status_code == 200

    assert revoke_tokens(session, subject, now=NOW) == 1
    assert client.get(f"/calendar/{new}.ics").status_code == 404


def test_unchanged_plan_answers_304_and_a_change_renders_afresh(session, planned, client, monkeypatch):
    _, _, worker = planned
    token = issue_token(session, FeedSubject(person_id=worker.id, team_id=None), now=NOW)
    renders = []
    real = notify.feeds.subject_calendar

    def counting(*args):
        renders.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(notify.feeds, "subject_calendar", counting)
    first = client.get(f"/calendar/{token}.ics")
    etag, modified = first.headers["etag"], first.headers["last-modified"]

    assert client.get(f"/calendar/{token}.ics", headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"/calendar/{token}.ics", headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(f"/calendar/{token}.ics").content == first.content
    assert len(renders) == 1  # cached until the plan changes
    assert renders[0] != threading.main_thread().name  # rendered off the event loop

    upcoming = session.exec(select(SupervisionSession).where(SupervisionSession.starts_at > FEED_TIME)
                            .order_by(SupervisionSession.starts_at)).first()
    postpone(session, upcoming.id, "snow", now=FEED_TIME)

    changed = client.get(f"/calendar/{token}.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert len(renders) == 2
    later = format_datetime(FEED_TIME + timedelta(days=1), usegmt=True)
    assert client.get(f"/calendar/{token}.ics", headers={"If-Modified-Since": later}).status_code == 304


def test_team_feed_for_managers(session, planned, client):
    team, manager, worker = planned
    token = issue_token(session, FeedSubject(person_id=None, team_id=team.id), now=NOW)

    response = client.get(f"/calendar/{token}.ics")

    assert response.status_code == 200
    calendar = parse(response.content)
    assert calendar.x_wr_calname.value == "Supervision: North Outreach"
    summaries = {e.summary.value for e in calendar.vevent_list}
    assert summaries == {"Supervision: Morgan / Sam", "Supervision: Morgan / Alex", "Team meeting: Team meeting North"}


def test_a_real_server_keeps_answering_while_feeds_render(session, planned, engine):
    _, _, worker = planned
    token = issue_token(session, FeedSubject(person_id=worker.id, team_id=None), now=NOW)
    app = create_server(Settings(), engine)
    with ServerThread(app) as server:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            responses = []
            threads = [threading.Thread(target=lambda: responses.append(http.get(f"/calendar/{token}.ics"))) for _ in range(4)]
            for thread in threads:
                thread.start()
            assert http.get("/healthz").status_code == 200
            for thread in threads:
                thread.join()
            assert [r.status_code for r in responses] == [200] * 4
            assert len({r.headers["etag"] for r in responses}) == 1
            assert http.get("/calendar/nope.ics").status_code == 404


def test_feed_tokens_never_reach_the_access_log(engine):
    import logging

    create_server(Settings(), engine)
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/calendar/s3cr3t-T0ken_x.ics", "1.1", 200), None)
    assert all(f.filter(record) for f in logging.getLogger("uvicorn.access").filters)
    assert "s3cr3t" not in record.getMessage() and "/calendar/<token>.ics" in record.getMessage()
