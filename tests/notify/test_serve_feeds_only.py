"""``diveboat serve --feeds-only`` as a real process: calendar feeds without Twilio."""

from __future__ import annotations

import os
import signal
import subprocess

import httpx
import pytest

from roster.models import Person, Role
from roster.supervision.agreements import create_agreement
from roster.supervision.planner import plan_year
from roster.supervision.tokens import FeedSubject, issue_token
from roster.timeutil import LONDON, utcnow
from tests.notify.helpers import wait_for
from tests.notify.test_serve_cli import COMMAND, _healthy, diveboat, free_port


@pytest.fixture
def feed_token(session) -> str:
    """A feed URL token for a keyworker with fortnightly supervision planned from today."""
    now = utcnow()
    manager = Person(name="Morgan Ellis", phone="+447700900201", role=Role.MANAGER.value)
    worker = Person(name="Sam Okafor", phone="+447700900202", role=Role.KEYWORKER.value)
    session.add_all([manager, worker])
    session.flush()
    create_agreement(session, manager, worker, starts_on=now.astimezone(LONDON).date(), frequency="2w", now=now)
    session.commit()
    plan_year(session, now.astimezone(LONDON).year, now=now)
    plan_year(session, now.astimezone(LONDON).year + 1, now=now)
    return issue_token(session, FeedSubject(person_id=worker.id, team_id=None), now=now)


def test_feeds_only_serves_calendars_without_twilio(db_url, feed_token):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    assert not any(name.startswith("TWILIO_") for name in os.environ)  # no credentials at all
    server = subprocess.Popen([*COMMAND, "--db", db_url, "serve", "--feeds-only", "--port", str(port)],
                              env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: _healthy(base), "diveboat serve --feeds-only to answer /healthz", timeout=60)
        with httpx.Client(base_url=base, timeout=30) as http:
            feed = http.get(f"/calendar/{feed_token}.ics")
            assert feed.status_code == 200
            assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
            assert feed.content.startswith(b"BEGIN:VCALENDAR") and b"BEGIN:VEVENT" in feed.content
            assert http.get(f"/calendar/{feed_token}.ics", headers={"If-None-Match": feed.headers["etag"]}).status_code == 304
            assert http.get("/calendar/not-a-token.ics").status_code == 404
            for path in ("/twilio/sms", "/twilio/voice", "/twilio/status"):  # no webhooks: unknown paths
                assert http.post(path, data={"From": "+447700900202", "Body": "1"}).status_code == 404
    finally:
        server.send_signal(signal.SIGINT)
        stdout, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr
    assert "Traceback" not in stderr and feed_token not in stderr
    assert ("Serving calendar feeds only (http://127.0.0.1:%d/calendar/<token>.ics): no Twilio webhooks, "
            "no escalation clock, no reply polling." % port) in stderr.splitlines()
    assert stderr.splitlines()[-1] == "Stopped."


def test_serve_help_explains_feeds_only():
    help_text = " ".join(diveboat("serve", "--help").stdout.split())
    assert "--feeds-only Serve only the supervision calendar feeds (GET /calendar/<token>.ics)" in help_text
    assert "no Twilio credentials needed" in help_text
