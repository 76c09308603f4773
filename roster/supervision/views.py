"""Read-only views of the plan for the command line and the dashboard.

Everything here is presentation-ready data (names, titles, local times); nothing
here changes the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlmodel import Session, select

from roster.models import Case, CaseInvolvement, Person, Team, TeamMembership
from roster.supervision.agreements import SupervisionError
from roster.supervision.models import SessionStatus, SupervisionSession
from roster.supervision.reviews import CaseReviewPlan, case_review_plan
from roster.supervision.rules import ASYE_FORTNIGHTLY_MONTHS, add_months
from roster.supervision.series import Series, key_of, load_series, series_filter
from roster.supervision.state import working_calendar
from roster.supervision.workdays import bank_holidays
from roster.timeutil import LONDON, local_datetime

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class SessionView:
    """One session as people see it."""

    id: int
    uid: str
    title: str
    starts_at: datetime
    ends_at: datetime
    venue: str
    status: str
    sequence: int
    rebook_of_id: int | None
    people: tuple[str, ...]
    person_ids: tuple[int, ...]
    is_group: bool
    rebooked: bool = False

    @property
    def needs_rebooking(self) -> bool:
        """Postponed and not yet reconvened."""
        return self.status == SessionStatus.POSTPONED and not self.rebooked

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(LONDON)

    @property
    def occurring(self) -> bool:
        return self.status in (SessionStatus.BOOKED, SessionStatus.HELD)

    def as_dict(self) -> dict:
        return {
            "id": self.id, "uid": self.uid, "title": self.title, "starts_at": self.starts_at,
            "ends_at": self.ends_at, "local_start": self.local_start.strftime("%Y-%m-%d %H:%M"),
            "venue": self.venue, "status": self.status, "sequence": self.sequence,
            "rebook_of": self.rebook_of_id, "rebooked": self.rebooked, "people": list(self.people),
        }


@dataclass(frozen=True)
class SeriesView:
    """An agreement or group as a line of text: who, how often, when, where."""

    title: str
    kind: str
    people: tuple[str, ...]
    frequency: str
    slot: str
    venue: str
    starts_on: date
    active: bool

    def as_dict(self) -> dict:
        return {
            "title": self.title, "kind": self.kind, "people": list(self.people), "frequency": self.frequency,
            "slot": self.slot, "venue": self.venue, "starts_on": self.starts_on, "active": self.active,
        }


@dataclass
class PlanView:
    """A person's or team's plan between two days."""

    name: str
    series: list[SeriesView] = field(default_factory=list)
    sessions: list[SessionView] = field(default_factory=list)
    case_reviews: list[CaseReviewPlan] = field(default_factory=list)

    def next_sessions(self, now: datetime, count: int = 5) -> list[SessionView]:
        return [s for s in self.sessions if s.occurring and s.ends_at > now][:count]

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "series": [s.as_dict() for s in self.series],
            "sessions": [s.as_dict() for s in self.sessions],
            "case_reviews": [
                {"reference": r.reference, "last_reviewed": r.last_reviewed, "due_on": r.due_on, "planned_on": r.planned_on}
                for r in self.case_reviews
            ],
        }


def describe_frequency(series: Series, today: date) -> str:
    """How often, saying when a stage-based frequency changes (e.g. after six months of ASYE)."""
    now = series.frequency_at(today).describe()
    person = series.supervisee
    if series.is_group or series.agreement.frequency or person is None or person.stage_date is None:
        return now
    change = None
    if person.practice_stage == "asye":
        change = add_months(person.stage_date, ASYE_FORTNIGHTLY_MONTHS)
    elif person.practice_stage == "probation":
        change = person.stage_date
    if change is None or change <= today:
        return now
    return f"{now} until {change:%d %b %Y}, then {series.frequency_at(change).describe()}"


def series_view(series: Series, today: date) -> SeriesView:
    source = series.source
    day = WEEKDAYS[source.weekday] if source.weekday is not None else "any day"
    return SeriesView(
        title=series.title, kind=series.kind, people=tuple(p.name for p in series.people),
        frequency=describe_frequency(series, today), slot=f"{day} {source.start_time:%H:%M}, {source.duration_minutes} min",
        venue=source.venue, starts_on=source.starts_on, active=source.active,
    )


def session_views(session: Session, series: list[Series], start: date, end: date) -> list[SessionView]:
    """The sessions of ``series`` starting on local days ``start`` to ``end`` (inclusive)."""
    if not series:
        return []
    by_key = {s.key: s for s in series}
    rows = session.exec(
        select(SupervisionSession)
        .where(
            series_filter(series),
            SupervisionSession.starts_at >= local_datetime(start, time(0)),
            SupervisionSession.starts_at < local_datetime(end, time(23, 59, 59)),
        )
        .order_by(SupervisionSession.starts_at, SupervisionSession.id)
    )
    rows = list(rows)
    postponed = [r.id for r in rows if r.status == SessionStatus.POSTPONED]
    rebooked = set(session.exec(
        select(SupervisionSession.rebook_of_id).where(
            SupervisionSession.rebook_of_id.in_(postponed or [-1]),
            SupervisionSession.status != SessionStatus.CANCELLED.value,
        )
    )) if postponed else set()
    views = []
    for row in rows:
        item = by_key[key_of(row)]
        views.append(
            SessionView(
                id=row.id, uid=row.uid, title=item.title, starts_at=row.starts_at, ends_at=row.ends_at,
                venue=row.venue, status=row.status, sequence=row.sequence, rebook_of_id=row.rebook_of_id,
                people=tuple(p.name for p in item.people), person_ids=item.attendee_ids, is_group=item.is_group,
                rebooked=row.id in rebooked,
            )
        )
    return views


def person_plan(session: Session, person: Person, start: date, end: date, today: date) -> PlanView:
    """A person's agreements, groups, sessions between ``start`` and ``end`` and case reviews."""
    series = load_series(session, include_inactive=True, involving=[person.id])
    cases = set(session.exec(select(CaseInvolvement.case_id).where(CaseInvolvement.person_id == person.id)))
    return _plan(session, person.name, series, start, end, today, cases)


def team_plan(session: Session, team: Team, start: date, end: date, today: date) -> PlanView:
    """Every series any member of ``team`` takes part in."""
    members = list(session.exec(select(TeamMembership.person_id).where(TeamMembership.team_id == team.id)))
    series = load_series(session, include_inactive=True, involving=members)
    cases = set(session.exec(select(CaseInvolvement.case_id).where(CaseInvolvement.person_id.in_(members or [-1]))))
    return _plan(session, team.name, series, start, end, today, cases)


def _plan(session, name, series, start, end, today, case_ids) -> PlanView:
    references = set(session.exec(select(Case.reference).where(Case.id.in_(case_ids or [-1]))))
    reviews = [r for r in case_review_plan(session, today) if r.reference in references]
    return PlanView(
        name=name,
        series=[series_view(s, today) for s in series if s.source.active],
        sessions=session_views(session, series, start, end),
        case_reviews=reviews,
    )


@dataclass(frozen=True)
class YearView:
    """A person's or team's plan for one calendar year, with that year's bank holidays."""

    year: int
    plan: PlanView
    holidays: dict[date, str]
    region: str


def year_view(
    session: Session, year: int, today: date, *, person_id: int | None = None, team_id: int | None = None
) -> YearView:
    """The year for a person or a team (as the supervision screen shows it)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    if person_id is not None:
        person = session.get(Person, person_id)
        if person is None:
            raise SupervisionError(f"no person with id {person_id}")
        plan = person_plan(session, person, first, last, today)
    else:
        team = session.get(Team, team_id)
        if team is None:
            raise SupervisionError(f"no team with id {team_id}")
        plan = team_plan(session, team, first, last, today)
    workdays = working_calendar(session)
    return YearView(year=year, plan=plan, holidays=dict(bank_holidays(workdays.region, year)), region=workdays.region.value)


def plan_subjects(session: Session) -> list[tuple[str, str]]:
    """Whose plan can be shown: ``("team:ID", "Team: name")`` for teams, then
    ``("person:ID", name)`` for everyone taking part in supervision."""
    subjects = [(f"team:{t.id}", f"Team: {t.name}") for t in session.exec(select(Team).order_by(Team.name))]
    taking_part = {pid for s in load_series(session) for pid in s.attendee_ids}
    people = session.exec(select(Person).where(Person.id.in_(taking_part or [-1])).order_by(Person.name))
    return subjects + [(f"person:{p.id}", p.name) for p in people]


def find_team(session: Session, text: str) -> Team:
    """The team called ``text`` (case-insensitive); the error lists the teams."""
    teams = list(session.exec(select(Team).order_by(Team.name)))
    for team in teams:
        if team.name.casefold() == text.strip().casefold():
            return team
    names = ", ".join(t.name for t in teams) or "none yet"
    raise SupervisionError(f"no team called '{text}' (teams: {names})")
