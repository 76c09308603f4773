"""Calendar files: golden files for a small plan, parsed back by vobject event by event."""

import os
import re
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from sqlmodel import select

from roster.ical import Attendee, CalendarEvent, EventChunks, build_calendar
from roster.models import Case, CaseInvolvement
from roster.supervision.agreements import create_group
from roster.supervision.calendars import FeedWindow, cancellation_calendar, person_calendar, team_calendar
from roster.supervision.changes import cancel, postpone, rebook
from roster.supervision.groups import queue_case
from roster.supervision.models import SupervisionSession
from roster.supervision.planner import plan_year
from roster.supervision.series import load_series

from tests.supervision.calendar_checks import check_calendar, events_by_uid, parse
from tests.supervision.conftest import NOW, agree

GOLDEN = Path(__file__).parent / "golden"
WINDOW = FeedWindow(date(2027, 1, 1), date(2027, 3, 1))
TODAY = date(2026, 12, 1)


@pytest.fixture
def small_plan(session, make_person, make_team):
    """A team with an ASYE, a manager and a reflective group; two changes; stable UIDs."""
    team = make_team("North Outreach")
    manager = make_person("Morgan Ellis", role="manager", team=team)
    asye = make_person("Taylor Brooks", practice_stage="asye", stage_date=date(2027, 1, 4), team=team)
    chair = make_person("Dr Nadia Haddad", role="metateam", team=team)
    agree(session, manager, asye, weekday=0, venue="Room 2, Dock Street")
    group = create_group(
        session, "North reflective group", "reflective_group", chair, [manager, asye], starts_on=date(2027, 1, 4),
        team_id=team.id, weekday=2, start_time=time(14, 0), venue="Boardroom", now=NOW,
    )
    case = Case(reference="C-1047")
    session.add(case)
    session.flush()
    session.add(CaseInvolvement(case_id=case.id, person_id=asye.id))
    queue_case(session, group, "C-1047", now=NOW)
    session.commit()
    plan_year(session, 2027, now=NOW)
    rows = session.exec(select(SupervisionSession).order_by(SupervisionSession.starts_at, SupervisionSession.id)).all()
    for number, row in enumerate(rows):
        row.uid = f"golden-{number:03d}@diveboat"
        session.add(row)
    session.commit()
    one_to_ones = [r for r in rows if r.agreement_id]
    later = NOW + timedelta(days=1)
    postpone(session, one_to_ones[1].id, "supervisor called to court", now=later)
    rebooked = rebook(session, one_to_ones[1].id, now=later).session
    rebooked.uid = "golden-rebooked@diveboat"
    session.add(rebooked)
    session.commit()
    cancel(session, [r for r in rows if r.group_id][2].id, "chair unwell", now=later)
    return team, asye


def _golden(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_bytes(data)
    assert data == path.read_bytes(), f"{name} differs from the golden file (UPDATE_GOLDEN=1 rewrites it)"


def _rows_in_window(session):
    start = datetime(2027, 1, 1, tzinfo=timezone.utc)
    end = datetime(2027, 3, 1, tzinfo=timezone.utc)
    query = select(SupervisionSession).where(SupervisionSession.starts_at >= start, SupervisionSession.starts_at < end)
    return list(session.exec(query))


def test_person_calendar_matches_golden_and_reads_back(session, small_plan):
    team, asye = small_plan
    data = person_calendar(session, asye, TODAY, WINDOW)
    _golden("taylor_brooks_2027_q1.ics", data)
    events = check_calendar(data, _rows_in_window(session), load_series(session))
    assert len(events) == 9  # five one-to-ones (one postponed and rebooked), four groups
    postponed = [e for e in events.values() if e.summary.value.startswith("Postponed: ")]
    assert len(postponed) == 1 and postponed[0].status.value == "CANCELLED"
    assert int(postponed[0].sequence.value) == 1
    assert "postponed from Mon 18 Jan 2027" in events["golden-rebooked@diveboat"].description.value
    descriptions = "\n".join(e.description.value for e in events.values())
    assert "Cases to bring: C-1047" in descriptions and "Cases due for review: C-1047" in descriptions
    assert "court" not in descriptions and "unwell" not in descriptions  # reasons never leave Dive Boat
    references = set(re.findall(r"\bC-\d+\b", descriptions))
    assert references == {"C-1047"}


def test_team_calendar_matches_golden(session, small_plan):
    team, _ = small_plan
    data = team_calendar(session, team, TODAY, WINDOW)
    _golden("north_outreach_2027_q1.ics", data)
    check_calendar(data, _rows_in_window(session), load_series(session))


def test_same_session_keeps_its_uid_and_a_change_raises_its_sequence(session, small_plan):
    _, asye = small_plan
    first = events_by_uid(parse(person_calendar(session, asye, TODAY, WINDOW)))
    again = events_by_uid(parse(person_calendar(session, asye, TODAY, WINDOW)))
    assert {uid: e.sequence.value for uid, e in first.items()} == {uid: e.sequence.value for uid, e in again.items()}
    row = session.exec(select(SupervisionSession).where(SupervisionSession.uid == "golden-rebooked@diveboat")).one()
    cancel(session, row.id, "no longer needed", now=NOW + timedelta(days=2))
    changed = events_by_uid(parse(person_calendar(session, asye, TODAY, WINDOW)))
    assert set(changed) == set(first)  # the cancelled session stays in the feed...
    assert changed[row.uid].status.value == "CANCELLED"  # ...as STATUS:CANCELLED
    assert int(changed[row.uid].sequence.value) == int(first[row.uid].sequence.value) + 1
    assert changed[row.uid].dtstamp.value > first[row.uid].dtstamp.value


def test_cancellation_file_uses_method_cancel(session, small_plan):
    cancelled = session.exec(select(SupervisionSession).where(SupervisionSession.status == "cancelled")).all()
    data = cancellation_calendar(session, cancelled, TODAY)
    _golden("cancellation.ics", data)
    check_calendar(data, cancelled, load_series(session), method="CANCEL")


def test_vtimezone_gives_the_right_offsets_in_summer_and_winter():
    stamp = datetime(2026, 12, 1, tzinfo=timezone.utc)
    events = [
        CalendarEvent(uid=f"tz-{n}@diveboat", sequence=0, stamp=stamp, starts_at=start, ends_at=start + timedelta(hours=1),
                      summary="Supervision: Alex / Sam", attendees=(Attendee("Alex Rivera", "mailto:alex@example.org"),))
        for n, start in enumerate([
            datetime(2027, 3, 27, 10, tzinfo=timezone.utc),  # Saturday before the spring change: GMT
            datetime(2027, 3, 29, 9, tzinfo=timezone.utc),  # after: BST, 10:00 local
            datetime(2027, 10, 29, 9, tzinfo=timezone.utc),  # Friday before the autumn change: BST
            datetime(2027, 11, 1, 10, tzinfo=timezone.utc),  # after: GMT
        ])
    ]
    data = build_calendar(events, name="DST")
    assert data.count(b"DTSTART;TZID=Europe/London:2027") == 4
    assert {line for line in data.split(b"\r\n") if line.startswith(b"DTSTART;")} == {
        b"DTSTART;TZID=Europe/London:20270327T100000", b"DTSTART;TZID=Europe/London:20270329T100000",
        b"DTSTART;TZID=Europe/London:20271029T100000", b"DTSTART;TZID=Europe/London:20271101T100000",
    }
    parsed = events_by_uid(parse(data))
    for event in events:
        assert parsed[event.uid].dtstart.value.astimezone(timezone.utc) == event.starts_at


def test_long_lines_are_folded_and_names_quoted():
    stamp = datetime(2026, 12, 1, tzinfo=timezone.utc)
    event = CalendarEvent(
        uid="fold@diveboat", sequence=0, stamp=stamp, starts_at=stamp, ends_at=stamp + timedelta(hours=1),
        summary="Reflective group supervision: " + "North Outreach, " * 8, location="Room 1; Dock Street, London",
        attendees=(Attendee("O'Neill, Siobhán", "mailto:s@example.org"),),
    )
    parsed = parse(build_calendar([event], name="Fold"))
    assert parsed.vevent.summary.value == event.summary
    assert parsed.vevent.location.value == event.location
    assert parsed.vevent.attendee.params["CN"] == ["O'Neill, Siobhán"]


def test_reusing_serialised_events_gives_the_same_bytes(session, small_plan):
    team, asye = small_plan
    chunks = EventChunks()
    plain = team_calendar(session, team, TODAY, WINDOW)
    assert team_calendar(session, team, TODAY, WINDOW, chunks) == plain  # first: fills the cache
    assert person_calendar(session, asye, TODAY, WINDOW, chunks) == person_calendar(session, asye, TODAY, WINDOW)
    assert team_calendar(session, team, TODAY, WINDOW, chunks) == plain  # again: all from the cache
