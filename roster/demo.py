"""A realistic demo service: two outreach teams, MetaTeam, Experts by Experience, cases, rota, leave.

All phone numbers are in Ofcom's drama range (07700 900xxx), so nothing reaches a real phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, select

from roster.availability import end_of_local_day
from roster.models import (
    AvailabilityWindow,
    Case,
    CaseInvolvement,
    Employment,
    MetaTeamConsent,
    Person,
    PersonSkill,
    PracticeStage,
    Role,
    RotaShift,
    Status,
    Team,
    TeamMembership,
)
from roster.timeutil import LONDON, local_datetime, utcnow

TEAMS = ("North Outreach", "South Outreach")
WEEKDAYS = range(5)
DAY = (time(9, 0), time(17, 0))
LATE = (time(12, 0), time(20, 0))


@dataclass(frozen=True)
class DemoPerson:
    name: str
    role: Role
    teams: tuple[str, ...]
    skills: tuple[str, ...] = ()
    employment: Employment = Employment.FULL_TIME
    stage: PracticeStage = PracticeStage.QUALIFIED
    shift: tuple[time, time] | None = DAY
    days: tuple[int, ...] = tuple(WEEKDAYS)


N, S = TEAMS
PEOPLE = (
    DemoPerson("Morgan Ellis", Role.MANAGER, (N,), ("systemic practice",)),
    DemoPerson("Priya Shah", Role.MANAGER, (S,), ("safeguarding",)),
    DemoPerson("Sam Okafor", Role.KEYWORKER, (N,), ("self-harm", "family work")),
    DemoPerson("Alex Rivera", Role.KEYWORKER, (N,), ("substance misuse",)),
    DemoPerson("Jo Campbell", Role.KEYWORKER, (N,), ("exploitation", "youth justice")),
    DemoPerson("Chris Adeyemi", Role.KEYWORKER, (N,), ("self-harm",), shift=LATE),
    DemoPerson("Taylor Brooks", Role.KEYWORKER, (N,), ("housing",), stage=PracticeStage.ASYE),
    DemoPerson("Robin Hughes", Role.KEYWORKER, (N, S), ("systemic practice",), employment=Employment.PART_TIME, days=(0, 1, 2)),
    DemoPerson("Jamie Patel", Role.KEYWORKER, (N,), ("education",)),
    DemoPerson("Casey Lloyd", Role.KEYWORKER, (S,), ("substance misuse", "exploitation")),
    DemoPerson("Riley Nwosu", Role.KEYWORKER, (S,), ("self-harm", "eating difficulties")),
    DemoPerson("Drew Kowalski", Role.KEYWORKER, (S,), ("youth justice",), shift=LATE),
    DemoPerson("Avery Mensah", Role.KEYWORKER, (S,), ("family work",), stage=PracticeStage.PROBATION),
    DemoPerson("Quinn Fraser", Role.KEYWORKER, (S,), ("housing", "education")),
    DemoPerson("Harper Singh", Role.KEYWORKER, (S,), ("domestic abuse",)),
    DemoPerson("Rowan Clarke", Role.KEYWORKER, (S,), ("self-harm",), days=(1, 2, 3, 4, 5)),
    DemoPerson("Dr Nadia Haddad", Role.METATEAM, (N, S), ("self-harm", "systemic practice"), days=(0, 2, 4)),
    DemoPerson("Dr Owen Price", Role.METATEAM, (N, S), ("substance misuse",), days=(1, 3)),
    DemoPerson("Dr Leah Goldberg", Role.METATEAM, (N, S), ("eating difficulties", "family work"), days=(0, 1, 2, 3)),
    DemoPerson("Dr Tom Abara", Role.METATEAM, (N, S), ("forensic", "youth justice"), days=(2, 3, 4)),
    DemoPerson("Kim Walsh", Role.EXPERT_BY_EXPERIENCE, (N,), ("care experience",), shift=(time(10), time(15)), days=(0, 2)),
    DemoPerson("Lee Marsh", Role.EXPERT_BY_EXPERIENCE, (S,), ("substance misuse",), shift=(time(10), time(15)), days=(1, 3)),
    DemoPerson("Ash Bennett", Role.EXPERT_BY_EXPERIENCE, (N, S), ("youth justice",), shift=(time(13), time(18)), days=(2, 4)),
)

CASES = {
    "C-1042": ("Sam Okafor", "Jo Campbell"),
    "C-1043": ("Alex Rivera",),
    "C-1047": ("Chris Adeyemi", "Taylor Brooks"),
    "C-1051": ("Jamie Patel",),
    "C-1058": ("Robin Hughes", "Sam Okafor"),
    "C-2011": ("Casey Lloyd",),
    "C-2014": ("Riley Nwosu", "Harper Singh"),
    "C-2019": ("Drew Kowalski",),
    "C-2023": ("Avery Mensah", "Quinn Fraser"),
    "C-2030": ("Rowan Clarke",),
}

CONSENT = {
    "Dr Nadia Haddad": (2, time(9, 0), time(17, 0)),
    "Dr Owen Price": (1, time(10, 0), time(16, 0)),
    "Dr Leah Goldberg": (3, time(9, 0), time(18, 0)),
    "Dr Tom Abara": (2, time(12, 0), time(17, 0)),
}


def demo_phone(index: int) -> str:
    """The demo's phone numbers, in Ofcom's drama range."""
    return f"+447700900{index + 100:03d}"


def is_empty(session: Session) -> bool:
    return session.exec(select(Person.id).limit(1)).first() is None


def seed_demo(session: Session, now: datetime | None = None) -> bool:
    """Fill an empty database with the demo service; returns False (and does nothing) otherwise."""
    if not is_empty(session):
        return False
    now = now or utcnow()
    today = now.astimezone(LONDON).date()
    teams = {name: Team(name=name) for name in TEAMS}
    session.add_all(teams.values())
    people: dict[str, Person] = {}
    for index, spec in enumerate(PEOPLE):
        person = Person(
            name=spec.name,
            phone=demo_phone(index),
            email=f"{spec.name.lower().replace('dr ', '').replace(' ', '.')}@diveboat.example",
            role=spec.role.value,
            employment=spec.employment.value,
            practice_stage=spec.stage.value,
            stage_date=_stage_date(spec.stage, today),
        )
        session.add(person)
        people[spec.name] = person
    session.flush()
    for spec in PEOPLE:
        person = people[spec.name]
        manager = "Morgan Ellis" if N in spec.teams else "Priya Shah"
        if spec.role is not Role.MANAGER:
            person.line_manager_id = people[manager].id
        session.add_all(TeamMembership(team_id=teams[t].id, person_id=person.id) for t in spec.teams)
        session.add_all(PersonSkill(person_id=person.id, skill=s) for s in spec.skills)
        if spec.shift:
            start, end = spec.shift
            session.add_all(RotaShift(person_id=person.id, weekday=d, start_time=start, end_time=end) for d in spec.days)
    for name, (per_week, start, end) in CONSENT.items():
        session.add(MetaTeamConsent(person_id=people[name].id, max_per_week=per_week, contact_from=start, contact_until=end))
    for reference, workers in CASES.items():
        case = Case(reference=reference)
        session.add(case)
        session.flush()
        session.add_all(CaseInvolvement(case_id=case.id, person_id=people[w].id) for w in workers)
    _seed_absences(session, people, now, today)
    session.commit()
    return True


def _stage_date(stage: PracticeStage, today: date) -> date | None:
    if stage is PracticeStage.ASYE:
        return today - timedelta(days=70)
    if stage is PracticeStage.PROBATION:
        return today + timedelta(days=90)
    return None


def _seed_absences(session: Session, people: dict[str, Person], now: datetime, today: date) -> None:
    """Some leave, a sick day and a worker out in the field, around ``now``."""
    start_of_day = local_datetime(today, time(0, 0))
    windows = [
        ("Quinn Fraser", Status.LEAVE, start_of_day - timedelta(days=2), start_of_day + timedelta(days=5), "annual leave"),
        ("Jamie Patel", Status.SICK, start_of_day, end_of_local_day(now), "sick today"),
        ("Alex Rivera", Status.IN_FIELD, now - timedelta(hours=1), now + timedelta(hours=2), "home visit"),
        ("Harper Singh", Status.LEAVE, start_of_day + timedelta(days=3), start_of_day + timedelta(days=10), "annual leave"),
    ]
    for name, status, starts, ends, note in windows:
        session.add(
            AvailabilityWindow(person_id=people[name].id, status=status.value, starts_at=starts, ends_at=ends, note=note)
        )
