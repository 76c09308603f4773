"""iCalendar files for supervision plans, written with the ``icalendar`` library.

Every event carries a stable ``UID``, a ``DTSTAMP``, a ``SEQUENCE`` that goes up when
the session changes, ``DTSTART``/``DTEND`` as Europe/London wall-clock times with a
``VTIMEZONE`` block, a ``SUMMARY``, ``LOCATION`` and the attendees' names. Cancelled
sessions stay in feeds as ``STATUS:CANCELLED``; one-off cancellation files use
``METHOD:CANCEL``. Callers pass reference codes only: nothing here knows about cases.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress, vRecur

from roster.timeutil import LONDON, UTC, ensure_aware

PRODID = "-//Dive Boat//Supervision plan//EN"
TZID = "Europe/London"


@dataclass(frozen=True)
class Attendee:
    """A person on an event: their name and a calendar address (``mailto:`` or a URN)."""

    name: str
    address: str


@dataclass(frozen=True)
class CalendarEvent:
    """One session as a calendar event (all datetimes UTC-aware)."""

    uid: str
    sequence: int
    stamp: datetime
    starts_at: datetime
    ends_at: datetime
    summary: str
    location: str = ""
    organizer: Attendee | None = None
    attendees: tuple[Attendee, ...] = ()
    description: str = ""
    cancelled: bool = False


def london_timezone() -> Timezone:
    """The VTIMEZONE for Europe/London: BST from the last Sunday of March at 01:00 GMT
    to the last Sunday of October at 02:00 BST (the UK rule since 1996)."""
    zone = Timezone()
    zone.add("tzid", TZID)
    zone.add("x-lic-location", TZID)
    summer = TimezoneDaylight()
    summer.add("tzname", "BST")
    summer.add("tzoffsetfrom", LONDON.utcoffset(datetime(2000, 1, 1)))
    summer.add("tzoffsetto", LONDON.utcoffset(datetime(2000, 7, 1)))
    summer.add("dtstart", datetime(1970, 3, 29, 1, 0))
    summer.add("rrule", vRecur(freq="YEARLY", bymonth=3, byday="-1SU"))
    winter = TimezoneStandard()
    winter.add("tzname", "GMT")
    winter.add("tzoffsetfrom", LONDON.utcoffset(datetime(2000, 7, 1)))
    winter.add("tzoffsetto", LONDON.utcoffset(datetime(2000, 1, 1)))
    winter.add("dtstart", datetime(1970, 10, 25, 2, 0))
    winter.add("rrule", vRecur(freq="YEARLY", bymonth=10, byday="-1SU"))
    zone.add_component(summer)
    zone.add_component(winter)
    return zone


def _address(person: Attendee) -> vCalAddress:
    address = vCalAddress(person.address)
    address.params["CN"] = person.name
    return address


def _event(item: CalendarEvent, *, cancelled: bool) -> Event:
    event = Event()
    event.add("uid", item.uid)
    event.add("dtstamp", ensure_aware(item.stamp).astimezone(UTC))
    event.add("sequence", item.sequence)
    event.add("dtstart", ensure_aware(item.starts_at).astimezone(LONDON))
    event.add("dtend", ensure_aware(item.ends_at).astimezone(LONDON))
    event.add("summary", item.summary)
    if item.location:
        event.add("location", item.location)
    if item.description:
        event.add("description", item.description)
    if item.organizer is not None:
        event.add("organizer", _address(item.organizer))
    for attendee in item.attendees:  # ROLE defaults to REQ-PARTICIPANT (RFC 5545 3.2.16)
        event.add("attendee", _address(attendee))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    return event


class EventChunks:
    """A bounded, thread-safe cache of serialised events, keyed by the event itself.

    Feeds share events (a team meeting is in every member's feed) and a plan change
    alters few of them, so re-rendering a feed re-serialises only what changed.
    """

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._chunks: OrderedDict[CalendarEvent, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, event: CalendarEvent) -> bytes:
        with self._lock:
            chunk = self._chunks.get(event)
            if chunk is not None:
                self._chunks.move_to_end(event)
                return chunk
        chunk = _event(event, cancelled=event.cancelled).to_ical()
        with self._lock:
            self._chunks[event] = chunk
            while len(self._chunks) > self.max_entries:
                self._chunks.popitem(last=False)
        return chunk


def build_calendar(
    events: Iterable[CalendarEvent], *, name: str, method: str | None = "PUBLISH", chunks: EventChunks | None = None
) -> bytes:
    """A calendar of ``events`` (a feed or an export); cancelled ones say STATUS:CANCELLED.

    With ``chunks``, events already serialised (by icalendar, earlier) are reused as they are."""
    ordered = sorted(events, key=lambda e: (e.starts_at, e.uid))
    calendar = _calendar(name, method)
    if chunks is None:
        for item in ordered:
            calendar.add_component(_event(item, cancelled=item.cancelled))
        return calendar.to_ical()
    head = calendar.to_ical()
    closing = b"END:VCALENDAR\r\n"
    assert head.endswith(closing)
    return b"".join([head[: -len(closing)], *(chunks.get(item) for item in ordered), closing])


def build_cancellation(events: Iterable[CalendarEvent], *, name: str) -> bytes:
    """A one-off ``METHOD:CANCEL`` file telling calendars to drop ``events``."""
    calendar = _calendar(name, "CANCEL")
    for item in events:
        calendar.add_component(_event(item, cancelled=True))
    return calendar.to_ical()


def _calendar(name: str, method: str | None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", TZID)
    calendar.add_component(london_timezone())
    return calendar
