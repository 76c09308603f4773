"""Setting up supervision: agreements between two people, and group series.

Council supervision procedure, 5: "All supervisory relationships must be based upon
a formal written agreement", covering "Frequency, duration, venue of sessions".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time

from sqlmodel import Session, select

from roster.models import Person, Role, TeamMembership
from roster.supervision.models import (
    DEFAULT_DURATION_MINUTES,
    DEFAULT_START,
    GROUP_DURATION_MINUTES,
    AgreementKind,
    GroupKind,
    SupervisionAgreement,
    SupervisionGroup,
    SupervisionGroupMember,
)
from roster.supervision.rules import Frequency
from roster.supervision.state import plan_state, touch_plan
from roster.timeutil import LONDON, ensure_aware, utcnow

GROUP_FREQUENCIES = {
    GroupKind.REFLECTIVE_GROUP: "2w",  # "The reflective supervision occurs every fortnight for 2 hours."
    GroupKind.TEAM_MEETING: "1w",
    GroupKind.THINK_FAMILY: "1m",  # Think Family groups "are held at least monthly"
}
DEFAULT_ROLES = (Role.KEYWORKER, Role.MANAGER)
DEFAULT_SLOTS = [(weekday, start) for start in (time(10, 0), time(14, 0)) for weekday in range(5)]


class SupervisionError(ValueError):
    """A supervision change that cannot be made; the message says why."""


def create_agreement(
    session: Session,
    supervisor: Person,
    supervisee: Person,
    *,
    starts_on: date,
    kind: AgreementKind | str = AgreementKind.ONE_TO_ONE,
    frequency: str | None = None,
    duration_minutes: int = DEFAULT_DURATION_MINUTES,
    venue: str = "",
    weekday: int | None = None,
    start_time: time = DEFAULT_START,
    now: datetime | None = None,
) -> SupervisionAgreement:
    """Record a supervision agreement (caller commits). ``frequency`` None = by practice stage."""
    kind = _choice(AgreementKind, kind, "agreement kind")
    if supervisor.id == supervisee.id:
        raise SupervisionError("a person cannot supervise themselves")
    if frequency:
        frequency = _frequency(frequency)
    _check_slot(weekday, duration_minutes)
    now = ensure_aware(now or utcnow())
    agreement = SupervisionAgreement(
        supervisor_id=supervisor.id, supervisee_id=supervisee.id, kind=kind.value, frequency=frequency or None,
        duration_minutes=duration_minutes, venue=venue.strip(), weekday=weekday, start_time=start_time,
        starts_on=starts_on, created_at=now, updated_at=now,
    )
    session.add(agreement)
    touch_plan(session, now)
    session.flush()
    return agreement


def create_group(
    session: Session,
    name: str,
    kind: GroupKind | str,
    chair: Person,
    members: Iterable[Person],
    *,
    starts_on: date,
    team_id: int | None = None,
    frequency: str | None = None,
    duration_minutes: int = GROUP_DURATION_MINUTES,
    venue: str = "",
    weekday: int | None = None,
    start_time: time = DEFAULT_START,
    cases_per_session: int = 2,
    now: datetime | None = None,
) -> SupervisionGroup:
    """Record a group series with its chair and members (caller commits)."""
    kind = _choice(GroupKind, kind, "group kind")
    if not name.strip():
        raise SupervisionError("a group needs a name")
    _check_slot(weekday, duration_minutes)
    now = ensure_aware(now or utcnow())
    group = SupervisionGroup(
        name=name.strip(), kind=kind.value, team_id=team_id, chair_id=chair.id,
        frequency=_frequency(frequency or GROUP_FREQUENCIES[kind]), duration_minutes=duration_minutes,
        venue=venue.strip(), weekday=weekday, start_time=start_time, starts_on=starts_on,
        cases_per_session=cases_per_session, created_at=now, updated_at=now,
    )
    session.add(group)
    session.flush()
    member_ids = {m.id for m in members} - {chair.id}
    session.add_all(SupervisionGroupMember(group_id=group.id, person_id=i) for i in sorted(member_ids))
    touch_plan(session, now)
    session.flush()
    return group


def default_agreements(
    session: Session, *, starts_on: date, now: datetime | None = None, team_id: int | None = None
) -> list[SupervisionAgreement]:
    """One-to-one agreements with line managers, for people (of ``team_id``, if given)
    who never had a one-to-one or caseload agreement.

    "Front-line practitioners will receive caseload supervision from their line manager
    at least 4 weekly (fortnightly for ASYEs in first six months)". Only keyworkers and
    managers get one: MetaTeam clinicians and Experts by Experience have their own
    arrangements (clinical or group supervision), recorded explicitly. Frequency follows
    the supervisee's stage; each manager's supervisees are spread over weekdays and
    morning/afternoon so their sessions do not all fall at once. Caller commits.
    """
    now = ensure_aware(now or utcnow())
    plan_state(session, lock=True)  # two runs at once must not both create them (PostgreSQL)
    line_kinds = [AgreementKind.ONE_TO_ONE.value, AgreementKind.CASELOAD.value]
    covered = set(  # ended agreements count too: they are not recreated
        session.exec(select(SupervisionAgreement.supervisee_id).where(SupervisionAgreement.kind.in_(line_kinds)))
    )
    people = list(session.exec(select(Person).where(Person.active.is_(True)).order_by(Person.name)))
    staff = [p for p in people if p.role in DEFAULT_ROLES]
    if team_id is not None:
        members = set(session.exec(select(TeamMembership.person_id).where(TeamMembership.team_id == team_id)))
        staff = [p for p in staff if p.id in members]
    by_id = {p.id: p for p in people}
    used: dict[int, int] = {}
    for agreement in session.exec(select(SupervisionAgreement).where(SupervisionAgreement.active.is_(True))):
        used[agreement.supervisor_id] = used.get(agreement.supervisor_id, 0) + 1
    created = []
    for person in staff:
        manager = by_id.get(person.line_manager_id)
        if person.id in covered or manager is None:
            continue
        index = used.get(manager.id, 0)
        used[manager.id] = index + 1
        weekday, start = DEFAULT_SLOTS[index % len(DEFAULT_SLOTS)]
        created.append(
            create_agreement(
                session, manager, person, starts_on=starts_on, weekday=weekday, start_time=start,
                venue="Supervision room", now=now,
            )
        )
    return created


def today_in_london(now: datetime) -> date:
    return ensure_aware(now).astimezone(LONDON).date()


def _choice(enum, value, what: str):
    try:
        return enum(value)
    except ValueError:
        raise SupervisionError(f"unknown {what} '{value}' (choose one of: {', '.join(e.value for e in enum)})") from None


def _frequency(text: str) -> str:
    try:
        return Frequency.parse(text).code
    except ValueError as error:
        raise SupervisionError(str(error)) from None


def _check_slot(weekday: int | None, duration_minutes: int) -> None:
    if weekday is not None and not 0 <= weekday <= 4:
        raise SupervisionError("the preferred weekday must be Monday to Friday")
    if not 15 <= duration_minutes <= 480:
        raise SupervisionError("a session lasts between 15 minutes and 8 hours")
