"""Reading .ics output back with an independent parser (vobject), event by event."""

from __future__ import annotations

from datetime import timezone

import vobject

from roster.supervision.models import SessionStatus, SupervisionSession
from roster.supervision.series import Series, key_of


def parse(data: bytes):
    """Parse with vobject (not icalendar, which wrote it); every line must be folded to 75 octets."""
    assert all(len(line) <= 75 for line in data.split(b"\r\n")), "unfolded line"
    return vobject.readOne(data.decode("utf-8"))


def events_by_uid(calendar) -> dict:
    return {event.uid.value: event for event in getattr(calendar, "vevent_list", [])}


def check_event(event, row: SupervisionSession, series: Series, *, method: str | None = None) -> None:
    """One parsed VEVENT says what the session row says."""
    assert event.uid.value == row.uid
    assert int(event.sequence.value) == row.sequence
    assert event.dtstamp.value == row.updated_at.replace(microsecond=0)
    for prop, expected in ((event.dtstart, row.starts_at), (event.dtend, row.ends_at)):
        assert prop.params.get("X-VOBJ-ORIGINAL-TZID", prop.params.get("TZID")) == ["Europe/London"]
        assert prop.value.astimezone(timezone.utc) == expected  # vobject applies our VTIMEZONE
    cancelled = row.status in (SessionStatus.CANCELLED, SessionStatus.POSTPONED) or method == "CANCEL"
    assert event.status.value == ("CANCELLED" if cancelled else "CONFIRMED")
    assert event.summary.value.endswith(series.title)
    assert (event.location.value if hasattr(event, "location") else "") == row.venue
    assert [a.params["CN"][0] for a in event.attendee_list] == [p.name for p in series.people]
    assert event.organizer.params["CN"][0] == series.lead.name


def check_calendar(data: bytes, rows: list[SupervisionSession], series: list[Series], *, method: str | None = "PUBLISH"):
    """The whole file: VTIMEZONE present, one event per row, each matching its row."""
    calendar = parse(data)
    assert calendar.version.value == "2.0"
    assert (calendar.method.value if hasattr(calendar, "method") else None) == method
    assert [tz.tzid.value for tz in calendar.vtimezone_list] == ["Europe/London"]
    events = events_by_uid(calendar)
    assert sorted(events) == sorted(r.uid for r in rows)
    by_key = {s.key: s for s in series}
    for row in rows:
        check_event(events[row.uid], row, by_key[key_of(row)], method=method)
    return events
