"""Who is where, when: status windows over the weekly duty rota.

A person's status at instant T is, in order: the most recent availability window
covering T; ``on_duty`` if a rota shift covers T's Europe/London wall-clock time;
otherwise ``off``. "Who is available at T" is one indexed SQL statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.models import REACHABLE_STATUSES, AvailabilityWindow, Person, RotaShift, Status
from roster.timeutil import LONDON, ensure_aware, local_datetime, utcnow


@dataclass(frozen=True)
class PersonStatus:
    """A person's status at one instant, with what changes it next."""

    person: Person
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
    """Every (active) person's status at ``moment``, with their shift and next change."""
    moment = ensure_aware(moment or utcnow())
    status = _status_columns(moment)
    query = select(Person, status).order_by(Person.name)
    if not include_inactive:
        query = query.where(Person.active.is_(True))
    rows = session.exec(query).all()
    shifts = _shifts_by_person(session)
    windows = _windows_by_person(session, moment)
    return [
        _describe(person, Status(value), shifts.get(person.id, []), windows.get(person.id, []), moment)
        for person, value in rows
    ]


def _shifts_by_person(session: Session) -> dict[int, list[RotaShift]]:
    grouped: dict[int, list[RotaShift]] = {}
    for shift in session.exec(select(RotaShift)):
        grouped.setdefault(shift.person_id, []).append(shift)
    return grouped


def _windows_by_person(session: Session, moment: datetime) -> dict[int, list[AvailabilityWindow]]:
    grouped: dict[int, list[AvailabilityWindow]] = {}
    query = select(AvailabilityWindow).where(AvailabilityWindow.ends_at > moment).order_by(
        AvailabilityWindow.starts_at
    )
    for window in session.exec(query):
        grouped.setdefault(window.person_id, []).append(window)
    return grouped


def shift_occurrences(shift: RotaShift, day: date) -> tuple[datetime, datetime] | None:
    """The UTC start and end of ``shift`` if it starts on local ``day``, else None."""
    if day.weekday() != shift.weekday:
        return None
    if (shift.valid_from and day < shift.valid_from) or (shift.valid_until and day > shift.valid_until):
        return None
    end_day = day + timedelta(days=1) if shift.end_time <= shift.start_time else day
    return local_datetime(day, shift.start_time), local_datetime(end_day, shift.end_time)


def _shift_spans(shifts: list[RotaShift], around: datetime, days: int = 8):
    local_day = around.astimezone(LONDON).date()
    for offset in range(-1, days):
        for shift in shifts:
            span = shift_occurrences(shift, local_day + timedelta(days=offset))
            if span:
                yield shift, span


def _describe(
    person: Person, status: Status, shifts: list[RotaShift], windows: list[AvailabilityWindow], moment: datetime
) -> PersonStatus:
    spans = sorted(_shift_spans(shifts, moment), key=lambda item: item[1][0])
    current = next(((s, span) for s, span in spans if span[0] <= moment < span[1]), None)
    covering = [w for w in windows if w.starts_at <= moment]
    active_window = max(covering, key=lambda w: (w.created_at, w.id or 0), default=None)
    if active_window is not None and active_window.status == status:
        next_change = active_window.ends_at
        note = active_window.note
    elif current is not None:
        next_change, note = current[1][1], None
    else:
        upcoming = [span[0] for _, span in spans if span[0] > moment]
        upcoming += [w.starts_at for w in windows if w.starts_at > moment]
        next_change, note = min(upcoming, default=None), None
    shift = (current[0].start_time, current[0].end_time) if current else None
    return PersonStatus(person=person, status=status, note=note, shift=shift, next_change=next_change)


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
