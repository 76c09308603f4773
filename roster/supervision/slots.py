"""Who is free when: working days, leave, rota days and sessions already booked.

An :class:`Availability` is an in-memory picture loaded once (a few queries), so a
year for a thousand agreements is planned without a query per candidate slot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, select

from roster.availability import shift_occurrences
from roster.models import AvailabilityWindow, RotaShift, Status
from roster.supervision.models import OCCURRING_STATUSES, SupervisionSession
from roster.supervision.rules import Window
from roster.supervision.series import Series
from roster.supervision.workdays import WorkingCalendar
from roster.timeutil import LONDON, local_datetime

WORKDAY_START = time(9, 0)
WORKDAY_END = time(17, 0)
SLOT_STEP_MINUTES = 30
PLANNING_BLOCKS = (Status.LEAVE,)
REBOOKING_BLOCKS = (Status.LEAVE, Status.SICK)

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class Slot:
    """A proposed session time (UTC) and whether it keeps the minimum frequency."""

    starts_at: datetime
    ends_at: datetime
    late: bool = False

    @property
    def local_day(self) -> date:
        return self.starts_at.astimezone(LONDON).date()


@lru_cache(maxsize=256)
def day_times(preferred: time, duration_minutes: int) -> tuple[time, ...]:
    """Start times to try on a day: the preferred one, then the nearest others in working hours."""
    base = datetime.combine(date(2000, 1, 1), WORKDAY_START)
    last = datetime.combine(date(2000, 1, 1), WORKDAY_END) - timedelta(minutes=duration_minutes)
    options = []
    moment = base
    while moment <= last:
        options.append(moment.time())
        moment += timedelta(minutes=SLOT_STEP_MINUTES)
    wanted = datetime.combine(date(2000, 1, 1), preferred)
    others = sorted(
        (t for t in options if t != preferred),
        key=lambda t: (abs((datetime.combine(date(2000, 1, 1), t) - wanted).total_seconds()), t),
    )
    return (preferred, *others)


@dataclass
class Availability:
    """Working days, blocking absences, rota shifts and booked sessions, by person."""

    workdays: WorkingCalendar
    absences: dict[int, list[Span]] = field(default_factory=dict)
    shifts: dict[int, list[RotaShift]] = field(default_factory=dict)
    busy: dict[tuple[int, date], list[tuple[datetime, datetime, int | None]]] = field(default_factory=dict)
    _spans: dict[tuple[int, date], list[Span]] = field(default_factory=dict, repr=False)

    def book(self, person_ids: Iterable[int], starts_at: datetime, ends_at: datetime, session_id: int | None = None) -> None:
        """Mark ``person_ids`` busy for a session."""
        day = starts_at.astimezone(LONDON).date()
        for person_id in person_ids:
            self.busy.setdefault((person_id, day), []).append((starts_at, ends_at, session_id))

    def is_busy(self, person_id: int, day: date, starts_at: datetime, ends_at: datetime, ignore: int | None = None) -> bool:
        """Whether the person is in another session then (``day`` is the local day of ``starts_at``)."""
        return any(
            start < ends_at and starts_at < end and (ignore is None or sid != ignore)
            for start, end, sid in self.busy.get((person_id, day), ())
        )

    def is_absent(self, person_id: int, starts_at: datetime, ends_at: datetime) -> bool:
        return any(start < ends_at and starts_at < end for start, end in self.absences.get(person_id, ()))

    def works_then(self, person_id: int, day: date, starts_at: datetime, ends_at: datetime) -> bool:
        """True if the person has no rota, or a rota shift on ``day`` covers the session."""
        if not self.shifts.get(person_id):
            return True
        return any(start <= starts_at and ends_at <= end for start, end in self._shift_spans(person_id, day))

    def _shift_spans(self, person_id: int, day: date) -> list[Span]:
        key = (person_id, day)
        spans = self._spans.get(key)
        if spans is None:
            spans = [span for shift in self.shifts[person_id] if (span := shift_occurrences(shift, day))]
            self._spans[key] = spans
        return spans

    def is_free(
        self, series: Series, day: date, starts_at: datetime, ends_at: datetime, *, ignore: int | None = None
    ) -> bool:
        """Whether ``series`` can meet then: a working day, nobody deciding it away or off
        rota, and no attendee in another session."""
        if not self.workdays.is_working_day(day):
            return False
        for person_id in series.planning_ids:
            if self.is_absent(person_id, starts_at, ends_at) or not self.works_then(person_id, day, starts_at, ends_at):
                return False
        return not any(self.is_busy(p, day, starts_at, ends_at, ignore) for p in series.attendee_ids)

    def first_free(
        self, series: Series, days: Iterable[date], *, not_before: datetime | None = None,
        latest: date | None = None, ignore: int | None = None,
    ) -> Slot | None:
        """The first free slot on the first day of ``days`` that has one (preferred time first)."""
        times = day_times(series.start_time, series.duration_minutes)
        duration = timedelta(minutes=series.duration_minutes)
        for day in days:
            if not self.workdays.is_working_day(day):
                continue
            for wall_clock in times:
                starts_at = local_datetime(day, wall_clock)
                if not_before is not None and starts_at < not_before:
                    continue
                ends_at = starts_at + duration
                if self.is_free(series, day, starts_at, ends_at, ignore=ignore):
                    return Slot(starts_at, ends_at, late=latest is not None and day > latest)
        return None

    def slot_in(self, series: Series, window: Window, *, not_before: datetime | None = None) -> Slot | None:
        """The nearest free slot to the window's target that keeps the minimum frequency,
        or failing that the first one after it (marked ``late``)."""
        return self.first_free(series, window.candidate_days(), not_before=not_before, latest=window.latest)


def load_availability(
    session: Session,
    workdays: WorkingCalendar,
    series: Iterable[Series],
    start: date,
    end: date,
    *,
    blocking: Iterable[Status] = PLANNING_BLOCKS,
) -> Availability:
    """Everything needed to find free slots between local days ``start`` and ``end``."""
    since, until = local_datetime(start, time(0)), local_datetime(end + timedelta(days=1), time(0))
    availability = Availability(workdays=workdays)
    windows = session.exec(
        select(AvailabilityWindow).where(
            AvailabilityWindow.status.in_([s.value for s in blocking]),
            AvailabilityWindow.starts_at < until,
            AvailabilityWindow.ends_at > since,
        )
    )
    for window in windows:
        availability.absences.setdefault(window.person_id, []).append((window.starts_at, window.ends_at))
    for shift in session.exec(select(RotaShift)):
        availability.shifts.setdefault(shift.person_id, []).append(shift)
    attendees = {s.key: s.attendee_ids for s in series}
    rows = session.exec(
        select(
            SupervisionSession.id, SupervisionSession.agreement_id, SupervisionSession.group_id,
            SupervisionSession.starts_at, SupervisionSession.ends_at,
        ).where(
            SupervisionSession.status.in_([s.value for s in OCCURRING_STATUSES]),
            SupervisionSession.starts_at < until,
            SupervisionSession.ends_at > since,
        )
    )
    for session_id, agreement_id, group_id, starts_at, ends_at in rows:
        people = attendees.get(("agreement", agreement_id) if agreement_id is not None else ("group", group_id))
        if people:
            availability.book(people, starts_at, ends_at, session_id)
    return availability
