"""Supervision for the demo service: agreements, group series and a few weeks of history.

Call :func:`seed_demo_agreements` right after :func:`roster.demo.seed_demo`. It books
the current year from ten weeks back, marks past sessions held and recorded, and
leaves a little to put right (a record not written, a postponed session not yet
reconvened, a case review overdue), so the compliance screen has something to show.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlmodel import Session, select

from roster.models import Case, Person, Team, TeamMembership
from roster.supervision.agreements import create_agreement, create_group, default_agreements
from roster.supervision.changes import cancel, mark_held, postpone
from roster.supervision.groups import queue_case
from roster.supervision.models import CaseReview, SupervisionAgreement, SupervisionGroup, SupervisionSession
from roster.supervision.planner import YearPlanner
from roster.timeutil import LONDON, ensure_aware, utcnow

HISTORY = timedelta(weeks=10)

GROUPS = (
    # name, kind, chair, team, weekday, start, minutes, venue
    ("North reflective group", "reflective_group", "Dr Nadia Haddad", "North Outreach", 2, time(14), 120, "Dock Street, Room 3"),
    ("South reflective group", "reflective_group", "Dr Leah Goldberg", "South Outreach", 3, time(14), 120, "Market Hall, Room 1"),
    ("North team meeting", "team_meeting", "Morgan Ellis", "North Outreach", 0, time(9), 60, "Dock Street, Room 3"),
    ("South team meeting", "team_meeting", "Priya Shah", "South Outreach", 1, time(9), 60, "Market Hall, Room 1"),
)
THINK_FAMILY = ("All lead professionals", "Dr Leah Goldberg", 1, time(11), 90, "Family Centre")
CLINICAL = (("Dr Owen Price", "Alex Rivera"), ("Dr Owen Price", "Casey Lloyd"), ("Dr Tom Abara", "Drew Kowalski"))
UNREVIEWED_WORKER, UNREVIEWED_CASE = "Jamie Patel", "C-1051"
QUEUES = {"North reflective group": ("C-1042", "C-1047"), "South reflective group": ("C-2014", "C-2023")}


def seed_demo_agreements(session: Session, now: datetime | None = None, *, history: bool = True) -> bool:
    """Add the demo's supervision (once); returns False if supervision is already set up.

    ``history=False`` skips marking past sessions held (faster, for tests that only
    need a plan)."""
    if session.exec(select(SupervisionAgreement.id).limit(1)).first() or session.exec(select(SupervisionGroup.id).limit(1)).first():
        return False
    now = ensure_aware(now or utcnow())
    start = (now - HISTORY).astimezone(LONDON).date()
    people = {p.name: p for p in session.exec(select(Person))}
    if not people:
        return False
    teams = {t.name: t for t in session.exec(select(Team))}
    _groups(session, people, teams, start, now)
    for clinician, worker in CLINICAL:
        if clinician in people and worker in people:
            create_agreement(session, people[clinician], people[worker], kind="clinical", starts_on=start,
                             weekday=3, start_time=time(15, 30), venue="Clinic room", now=now)
    default_agreements(session, starts_on=start, now=now)
    session.commit()
    planner = YearPlanner(session, now.astimezone(LONDON).year, now=now - HISTORY)
    for series in planner.series:
        planner.plan(series)
    planner.finish()
    if history:
        _history(session, now)
    return True


def _groups(session: Session, people: dict, teams: dict, start: date, now: datetime) -> None:
    members_of = {
        team.id: [people_by_id for people_by_id in session.exec(
            select(Person).join(TeamMembership, TeamMembership.person_id == Person.id)
            .where(TeamMembership.team_id == team.id, Person.role.in_(["keyworker", "manager"]))
        )]
        for team in teams.values()
    }
    for name, kind, chair, team_name, weekday, start_time, minutes, venue in GROUPS:
        team = teams.get(team_name)
        if team is None or chair not in people:
            continue
        group = create_group(session, name, kind, people[chair], members_of[team.id], starts_on=start, team_id=team.id,
                             weekday=weekday, start_time=start_time, duration_minutes=minutes, venue=venue, now=now)
        for reference in QUEUES.get(name, ()):
            if session.exec(select(Case.id).where(Case.reference == reference)).first():
                queue_case(session, group, reference, now=now)
    name, chair, weekday, start_time, minutes, venue = THINK_FAMILY
    if chair in people:
        keyworkers = [p for p in people.values() if p.role == "keyworker"]
        create_group(session, name, "think_family", people[chair], keyworkers, starts_on=start, weekday=weekday,
                     start_time=start_time, duration_minutes=minutes, venue=venue, now=now)


def _history(session: Session, now: datetime) -> None:
    """Past sessions held and recorded, except a few left for the compliance screen: the
    latest one-to-one postponed (not yet reconvened), the one before cancelled, one from
    two weeks ago without a record, and Jamie Patel's case never reviewed in supervision
    since a review fourteen weeks ago."""
    past = list(session.exec(
        select(SupervisionSession).where(SupervisionSession.ends_at <= now).order_by(SupervisionSession.starts_at)
    ))
    one_to_ones = set(session.exec(select(SupervisionAgreement.id).where(SupervisionAgreement.kind == "one_to_one")))
    personal = [r for r in past if r.agreement_id in one_to_ones]
    if len(personal) < 4:
        return
    postponed, cancelled = personal[-1], personal[-2]
    unrecorded = min(personal, key=lambda r: abs((r.starts_at - (now - timedelta(weeks=2))).total_seconds()))
    unreviewed = set(session.exec(
        select(SupervisionAgreement.id).join(Person, Person.id == SupervisionAgreement.supervisee_id)
        .where(Person.name == UNREVIEWED_WORKER)
    ))
    for row in past:
        if row.id in (postponed.id, cancelled.id):
            continue
        reviewed = [] if row.agreement_id in unreviewed else None
        mark_held(session, row.id, now=row.ends_at, recorded=row.id != unrecorded.id, reviewed=reviewed)
    postpone(session, postponed.id, "supervisor called to a child protection conference", now=now)
    cancel(session, cancelled.id, "supervisee on a crisis visit", now=now)
    case = session.exec(select(Case).where(Case.reference == UNREVIEWED_CASE)).first()
    if case is not None:
        session.add(CaseReview(case_id=case.id, reviewed_on=(now - timedelta(weeks=14)).astimezone(LONDON).date()))
        session.commit()
