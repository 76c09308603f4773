"""Who is where, when: status windows over the weekly duty rota.

A person's status at instant T is, in order: the most recent availability window
covering T; ``on_duty`` if a rota shift covers T's Europe/London wall-clock time;
otherwise ``off``. "Who is available at T" is one indexed SQL statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.models import REACHABLE_STATUSES, AvailabilityWindow, Person, RotaShift, Status
from roster.timeutil import LONDON, ensure_aware, local_datetime, utcnow

SPAN_DAYS = 8  # how far ahead the board looks for the next shift


class PersonRef(NamedTuple):
    """Who a status belongs to: the few columns a listing needs (cheaper than a loaded Person)."""

    id: int
    name: str
    role: str


@dataclass(frozen=True)
class PersonStatus:
    """A person's status at one instant, with what changes it next."""

    person: PersonRef
    status: Status
    note: str | None
    shift: tuple[time, time] | None
    next_change: datetime | None

    @property
    def reachable(self) -> bool:
        return self.status in REACHABLE_STATUSES


def _shift_covers(person_id, moment: datetime):
    """SQL condition: a rota shift of ``person_id`` covers ``moment``'s London wall clock."""
    local = moment.astimezone(LONDON)
    today, now = local.date(), local.time().replace(tzinfo=None)
    yesterday = today - timedelta(days=1)
    overnight = RotaShift.end_time <= RotaShift.start_time

    def valid_on(day: date):
        return sa.and_(
            sa.or_(RotaShift.valid_from.is_(None), RotaShift.valid_from <= day),
            sa.or_(RotaShift.valid_until.is_(None), RotaShift.valid_until >= day),
        )

    started_today = sa.and_(
        RotaShift.weekday == today.weekday(),
        RotaShift.start_time <= now,
        sa.or_(RotaShift.end_time > now, overnight),
        valid_on(today),
    )
    started_yesterday = sa.and_(
        RotaShift.weekday == yesterday.weekday(), overnight, RotaShift.end_time > now, valid_on(yesterday)
    )
    return sa.and_(RotaShift.person_id == person_id, sa.or_(started_today, started_yesterday))


def _status_columns(moment: datetime):
    window = (
        select(AvailabilityWindow.status)
        .where(
            AvailabilityWindow.person_id == Person.id,
            AvailabilityWindow.starts_at <= moment,
            AvailabilityWindow.ends_at > moment,
        )
        .order_by(AvailabilityWindow.created_at.desc(), AvailabilityWindow.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    on_shift = sa.exists().where(_shift_covers(Person.id, moment))
    status = sa.func.coalesce(
        window, sa.case((on_shift, sa.literal(Status.ON_DUTY.value)), else_=sa.literal(Status.OFF.value))
    )
    return status.label("status")


def available_at(session: Session, moment: datetime | None = None, roles: list[str] | None = None) -> list[Person]:
    """Active people reachable (on duty or in the field) at ``moment`` (default now)."""
    moment = ensure_aware(moment or utcnow())
    status = _status_columns(moment)
    query = select(Person).where(Person.active.is_(True), status.in_([s.value for s in REACHABLE_STATUSES]))
    if roles:
        query = query.where(Person.role.in_(roles))
    return list(session.exec(query.order_by(Person.role, Person.name)))


def statuses_at(session: Session, moment: datetime | None = None, *, include_inactive: bool = False) -> list[PersonStatus]:
    """Every (active) person's status at ``moment``, with their shift and next change.

    The next change is the first moment the status may change: the end of the window or
    shift in force, or the start of a window that will win over it (a newer one). Reads
    only what can matter: shifts valid in the days around ``moment``, the windows covering
    it, windows starting before those end, and each person's next window start; each
    distinct weekly shift pattern is placed in time once, however many people share it."""
    moment = ensure_aware(moment or utcnow())
    status = _status_columns(moment)
    query = select(Person.id, Person.name, Person.role, status).order_by(Person.name)
    if not include_inactive:
        query = query.where(Person.active.is_(True))
    rows = _rows(session, query)
    shifts = _shifts_by_person(session, moment)
    covering = _covering_windows_by_person(session, moment)
    upcoming = _upcoming_windows_by_person(session, moment, covering)
    next_starts = _next_window_starts(session, moment)
    placed: dict[_ShiftPattern, _PlacedShift] = {}
    return [
        _describe(PersonRef(person_id, name, role), Status(value),
                  [_place(p, moment, placed) for p in shifts.get(person_id, ())],
                  covering.get(person_id, []), upcoming.get(person_id, []), next_starts.get(person_id), moment)
        for person_id, name, role, value in rows
    ]


def _rows(session: Session, query) -> list[sa.Row]:
    """Plain rows of a column query, without the ORM's per-row work (the board reads thousands)."""
    return session.connection().execute(query).all()


class _ShiftPattern(NamedTuple):
    """A weekly shift without its owner: many people share the same few patterns."""

    weekday: int
    start_time: time
    end_time: time
    valid_from: date | None
    valid_until: date | None


@dataclass(frozen=True)
class _PlacedShift:
    pattern: _ShiftPattern
    current: tuple[datetime, datetime] | None  # the occurrence covering the moment
    next_start: datetime | None  # the first occurrence starting after it


def _span_days(moment: datetime) -> tuple[date, date]:
    """The local days whose shifts can cover ``moment`` or start within the next week."""
    local_day = moment.astimezone(LONDON).date()
    return local_day - timedelta(days=1), local_day + timedelta(days=SPAN_DAYS - 1)


def _shifts_by_person(session: Session, moment: datetime) -> dict[int, list[_ShiftPattern]]:
    """Each person's weekly shifts valid around ``moment``, as shared patterns.

    Times and dates are read as the database sends them and converted once per distinct
    value (a rota repeats a few): on SQLite, which sends text, converting every cell was
    most of the read (tens of thousands of rows with a year of rota)."""
    first, last = _span_days(moment)
    as_sent = [sa.type_coerce(column, sa.String) for column in
               (RotaShift.start_time, RotaShift.end_time, RotaShift.valid_from, RotaShift.valid_until)]
    query = select(RotaShift.person_id, RotaShift.weekday, *as_sent).where(
        sa.or_(RotaShift.valid_from.is_(None), RotaShift.valid_from <= last),
        sa.or_(RotaShift.valid_until.is_(None), RotaShift.valid_until >= first),
    )
    grouped: dict[int, list[_ShiftPattern]] = {}
    patterns: dict[tuple, _ShiftPattern] = {}
    for person_id, *sent in _rows(session, query):
        key = tuple(sent)
        pattern = patterns.get(key)
        if pattern is None:
            weekday, start, end, valid_from, valid_until = sent
            pattern = patterns[key] = _ShiftPattern(weekday, _as_time(start), _as_time(end), _as_date(valid_from),
                                                    _as_date(valid_until))
        grouped.setdefault(person_id, []).append(pattern)
    return grouped


def _as_time(value: time | str) -> time:
    return time.fromisoformat(value) if isinstance(value, str) else value


def _as_date(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _covering_windows_by_person(session: Session, moment: datetime) -> dict[int, list]:
    query = select(
        AvailabilityWindow.id, AvailabilityWindow.person_id, AvailabilityWindow.status,
        AvailabilityWindow.starts_at, AvailabilityWindow.ends_at, AvailabilityWindow.note,
        AvailabilityWindow.created_at,
    ).where(AvailabilityWindow.starts_at <= moment, AvailabilityWindow.ends_at > moment)
    grouped: dict[int, list] = {}
    for window in _rows(session, query):
        grouped.setdefault(window.person_id, []).append(window)
    return grouped


def _upcoming_windows_by_person(session: Session, moment: datetime, covering: dict[int, list]) -> dict[int, list]:
    """Windows starting after ``moment`` but before the last covering window ends."""
    until = max((w.ends_at for windows in covering.values() for w in windows), default=None)
    if until is None:
        return {}
    query = select(
        AvailabilityWindow.id, AvailabilityWindow.person_id, AvailabilityWindow.starts_at,
        AvailabilityWindow.created_at,
    ).where(AvailabilityWindow.starts_at > moment, AvailabilityWindow.starts_at < until)
    grouped: dict[int, list] = {}
    for window in _rows(session, query):
        grouped.setdefault(window.person_id, []).append(window)
    return grouped


def _next_window_starts(session: Session, moment: datetime) -> dict[int, datetime]:
    query = (
        select(AvailabilityWindow.person_id, sa.func.min(AvailabilityWindow.starts_at))
        .where(AvailabilityWindow.starts_at > moment)
        .group_by(AvailabilityWindow.person_id)
    )
    return dict(_rows(session, query))


def shift_occurrences(shift: RotaShift, day: date) -> tuple[datetime, datetime] | None:
    """The UTC start and end of ``shift`` if it starts on local ``day``, else None."""
    if day.weekday() != shift.weekday:
        return None
    if (shift.valid_from and day < shift.valid_from) or (shift.valid_until and day > shift.valid_until):
        return None
    end_day = day + timedelta(days=1) if shift.end_time <= shift.start_time else day
    return _local_instant(day, shift.start_time), _local_instant(end_day, shift.end_time)


_local_instant = lru_cache(maxsize=4096)(local_datetime)  # a rota repeats a few wall-clock times


def _place(pattern: _ShiftPattern, moment: datetime, placed: dict[_ShiftPattern, _PlacedShift]) -> _PlacedShift:
    """Where ``pattern`` falls around ``moment`` (memoised in ``placed``)."""
    found = placed.get(pattern)
    if found is None:
        first, last = _span_days(moment)
        day = first + timedelta(days=(pattern.weekday - first.weekday()) % 7)
        spans = []
        while day <= last:
            spans.append(shift_occurrences(pattern, day))
            day += timedelta(days=7)
        spans = [span for span in spans if span]
        found = placed[pattern] = _PlacedShift(
            pattern,
            next((span for span in spans if span[0] <= moment < span[1]), None),
            next((span[0] for span in spans if span[0] > moment), None),
        )
    return found


def _describe(
    person: PersonRef, status: Status, shifts: list[_PlacedShift], covering: list, upcoming: list,
    next_window_start: datetime | None, moment: datetime,
) -> PersonStatus:
    current = min((s for s in shifts if s.current), key=lambda s: s.current[0], default=None)
    active_window = max(covering, key=_window_order, default=None)
    if active_window is not None and active_window.status == status:
        newer = [w.starts_at for w in upcoming if _window_order(w) > _window_order(active_window)]
        next_change, note = min([active_window.ends_at, *newer]), active_window.note
    elif current is not None:
        next_change = min([current.current[1], *([next_window_start] if next_window_start else [])])
        note = None
    else:
        upcoming_starts = [s.next_start for s in shifts if s.next_start]
        upcoming_starts += [next_window_start] if next_window_start else []
        next_change, note = min(upcoming_starts, default=None), None
    shift = (current.pattern.start_time, current.pattern.end_time) if current else None
    return PersonStatus(person=person, status=status, note=note, shift=shift, next_change=next_change)


def _window_order(window) -> tuple[datetime, int]:
    """The newest window wins: by when it was entered, then by id."""
    return window.created_at, window.id or 0


def set_status(
    session: Session,
    person_id: int,
    status: Status | str,
    until: datetime,
    *,
    starts_at: datetime | None = None,
    note: str | None = None,
) -> AvailabilityWindow:
    """Record that a person has ``status`` from ``starts_at`` (default now) until ``until``."""
    status = Status(status)
    starts_at = ensure_aware(starts_at or utcnow())
    until = ensure_aware(until)
    if until <= starts_at:
        raise ValueError("the end of a status must be after its start")
    if session.get(Person, person_id) is None:
        raise LookupError(f"no person with id {person_id}")
    window = AvailabilityWindow(
        person_id=person_id, status=status.value, starts_at=starts_at, ends_at=until, note=(note or None)
    )
    session.add(window)
    session.commit()
    return window


def end_of_local_day(moment: datetime) -> datetime:
    """Midnight at the end of ``moment``'s Europe/London day, as UTC."""
    local_day = moment.astimezone(LONDON).date()
    return local_datetime(local_day + timedelta(days=1), time(0, 0))
