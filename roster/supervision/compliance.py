"""Compliance: who is overdue or in breach, per person and per team, most urgent first.

The rules checked (council supervision procedure):
- overdue: no session within the agreement's minimum frequency (3. Frequency);
- not reconvened: "Any postponed session must be reconvened within 5 working days";
- record missing: "where this is not possible the supervisee should receive a copy of
  the record form within 5 working days" (the supervisor is responsible: "The
  recording of supervision sessions is the responsibility of the supervisor");
- case review overdue: "All cases must be reviewed at least every twelve weeks";
- Think Family: practitioners "should attend 'Think Family' consultation sessions at
  least 3 times per year" (recommended, so reported but never a breach).
A past session still marked booked counts as held (its missing record is reported).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.db import ReadWhenChanged
from roster.models import Case, CaseInvolvement, Person, Team
from roster.people import teams_of
from roster.supervision.models import OCCURRING_STATUSES, GroupKind, SessionStatus, SupervisionSession
from roster.supervision.reviews import REVIEW_INTERVAL, last_reviews
from roster.supervision.rules import RECONVENE_WORKING_DAYS, RECORD_WORKING_DAYS, THINK_FAMILY_PER_YEAR
from roster.supervision.series import Series, key_of, load_series
from roster.supervision.state import working_calendar
from roster.supervision.workdays import WorkingCalendar
from roster.timeutil import LONDON, local_datetime

LOOKBACK = timedelta(days=365)
KIND_LABELS = {
    "overdue": "overdue",
    "not_reconvened": "not reconvened",
    "record_missing": "record missing",
    "case_review_overdue": "case review",
    "think_family": "Think Family",
}


@dataclass(frozen=True)
class ComplianceItem:
    """One thing overdue or in breach (or, when ``breach`` is False, coming due)."""

    kind: str
    person: str
    person_id: int | None
    teams: tuple[str, ...]
    subject: str
    due_on: date
    days_late: int
    breach: bool
    detail: str
    session_id: int | None = None

    def as_dict(self) -> dict:
        data = asdict(self)
        data["teams"] = list(self.teams)
        return data


@dataclass(frozen=True)
class ComplianceReport:
    as_of: date
    items: list[ComplianceItem]

    def by_person(self) -> dict[str, dict[str, int]]:
        counts: dict[str, Counter] = {}
        for item in self.items:
            if item.breach:
                counts.setdefault(item.person, Counter())[item.kind] += 1
        return {name: dict(sorted(c.items())) for name, c in sorted(counts.items())}

    def by_team(self) -> dict[str, dict[str, int]]:
        counts: dict[str, Counter] = {}
        for item in self.items:
            if item.breach:
                for team in item.teams or ("(no team)",):
                    counts.setdefault(team, Counter())[item.kind] += 1
        return {name: dict(sorted(c.items())) for name, c in sorted(counts.items())}

    def as_dict(self) -> dict:
        return {
            "as_of": self.as_of,
            "breaches": sum(1 for i in self.items if i.breach),
            "items": [i.as_dict() for i in self.items],
            "by_person": self.by_person(),
            "by_team": self.by_team(),
        }


@dataclass(frozen=True)
class ComplianceView:
    """What the compliance screen shows: the report for a day, and every team's name (its filter)."""

    report: ComplianceReport
    teams: tuple[str, ...]


def load_compliance_view(session: Session, moment: datetime) -> ComplianceView:
    """The report for ``moment``'s day in London, with the teams."""
    report = compliance_report(session, moment.astimezone(LONDON).date())
    return ComplianceView(report, tuple(session.exec(select(Team.name).order_by(Team.name))))


def compliance_reader(engine: sa.Engine) -> ReadWhenChanged[ComplianceView]:
    """The compliance view, read again only when the database may have changed or a new day began."""
    return ReadWhenChanged(engine, load_compliance_view,
                           expires=lambda view: local_datetime(view.report.as_of + timedelta(days=1), time(0)))


#: The session rows a report reads, as plain rows (thousands: without the ORM's per-row work).
_SESSIONS_SINCE = (
    select(*(getattr(SupervisionSession, column) for column in
             ("id", "agreement_id", "group_id", "starts_at", "status", "rebook_of_id", "recorded_at")))
    .where(SupervisionSession.starts_at >= sa.bindparam("since"))
    .order_by(SupervisionSession.starts_at)
)


def compliance_report(session: Session, today: date, *, team: str | None = None) -> ComplianceReport:
    """Everything overdue or in breach on ``today`` (optionally for one team's people)."""
    workdays = working_calendar(session)
    series = load_series(session, include_inactive=True)
    teams = {k: tuple(v) for k, v in teams_of(session).items()}
    since = local_datetime(today - LOOKBACK, time(0))
    rows = session.connection().execute(_SESSIONS_SINCE, {"since": since}).all()
    context = _Context(session, today, workdays, {s.key: s for s in series}, teams, rows)
    items = [
        *context.overdue(),
        *context.not_reconvened(),
        *context.records_missing(),
        *context.case_reviews(),
        *context.think_family(),
    ]
    if team is not None:
        items = [i for i in items if team in i.teams]
    items.sort(key=lambda i: (not i.breach, -i.days_late, i.due_on, i.person, i.subject))
    return ComplianceReport(as_of=today, items=items)


class _Context:
    def __init__(self, session, today, workdays: WorkingCalendar, series: dict, teams: dict, rows: list) -> None:
        self.session, self.today, self.workdays = session, today, workdays
        self.series: dict[tuple[str, int], Series] = series
        self.teams = teams
        self.rows: list[sa.Row] = rows  # _SESSIONS_SINCE's columns

    def _item(self, kind, person: Person, subject, due_on, detail, *, breach=True, session_id=None) -> ComplianceItem:
        return ComplianceItem(
            kind=kind, person=person.name, person_id=person.id, teams=self.teams.get(person.id, ()),
            subject=subject, due_on=due_on, days_late=(self.today - due_on).days, breach=breach,
            detail=detail, session_id=session_id,
        )

    def overdue(self):
        last_held: dict[tuple[str, int], date] = {}
        for row in self.rows:
            day = row.starts_at.astimezone(LONDON).date()
            if row.status in OCCURRING_STATUSES and day <= self.today:
                last_held[key_of(row)] = day
        for series in self.series.values():
            if series.is_group or not series.runs_on(self.today):
                continue
            last = last_held.get(series.key)
            start = last or series.source.starts_on
            if start > self.today:
                continue
            frequency = series.frequency_at(start)
            due = frequency.latest_after(start, self.workdays)
            if due < self.today:
                since = f"last session {last:%d %b %Y}" if last else "no session yet"
                yield self._item(
                    "overdue", series.supervisee, series.title, due,
                    f"{since}; due {frequency.describe()} (by {due:%d %b %Y})",
                )

    def not_reconvened(self):
        rebooked = {row.rebook_of_id: row for row in self.rows if row.rebook_of_id and row.status != SessionStatus.CANCELLED}
        for row in self.rows:
            if row.status != SessionStatus.POSTPONED or key_of(row) not in self.series:
                continue
            series = self.series[key_of(row)]
            day = row.starts_at.astimezone(LONDON).date()
            deadline = self.workdays.add_working_days(day, RECONVENE_WORKING_DAYS)
            again = rebooked.get(row.id)
            if again is not None:
                again_day = again.starts_at.astimezone(LONDON).date()
                if again_day > deadline:
                    yield self._item(
                        "not_reconvened", series.supervisee or series.lead, series.title, deadline,
                        f"postponed from {day:%d %b}; rebooked for {again_day:%d %b}, after {deadline:%d %b}",
                        session_id=row.id,
                    )
                continue
            yield self._item(
                "not_reconvened", series.supervisee or series.lead, series.title, deadline,
                f"postponed from {day:%d %b}; not rebooked (reconvene by {deadline:%d %b})",
                breach=self.today > deadline, session_id=row.id,
            )

    def records_missing(self):
        for row in self.rows:
            day = row.starts_at.astimezone(LONDON).date()
            if row.status not in OCCURRING_STATUSES or row.recorded_at is not None or day >= self.today:
                continue
            deadline = self.workdays.add_working_days(day, RECORD_WORKING_DAYS)
            series = self.series.get(key_of(row))
            if series is None or deadline >= self.today:
                continue
            yield self._item(
                "record_missing", series.lead, series.title, deadline,
                f"session of {day:%d %b %Y} has no record (due by {deadline:%d %b})", session_id=row.id,
            )

    def case_reviews(self):
        people = {p.id: p for p in self.session.exec(select(Person))}
        workers: dict[int, list[Person]] = {}
        for case_id, person_id in self.session.exec(select(CaseInvolvement.case_id, CaseInvolvement.person_id)):
            workers.setdefault(case_id, []).append(people[person_id])
        last = last_reviews(self.session)
        for case in self.session.exec(select(Case).where(Case.active.is_(True)).order_by(Case.reference)):
            reviewed = last.get(case.id)
            due = reviewed + REVIEW_INTERVAL if reviewed else self.today
            if reviewed is not None and due >= self.today:
                continue
            detail = f"last reviewed {reviewed:%d %b %Y}" if reviewed else "no review recorded"
            for worker in sorted(workers.get(case.id, []), key=lambda p: p.name)[:1] or [None]:
                if worker is None:
                    continue
                yield self._item("case_review_overdue", worker, case.reference, due, f"{detail}; review every 12 weeks")

    def think_family(self):
        year_start = date(self.today.year, 1, 1)
        counts: Counter = Counter()
        for row in self.rows:
            series = self.series.get(key_of(row))
            day = row.starts_at.astimezone(LONDON).date()
            if series and series.kind == GroupKind.THINK_FAMILY and row.status in OCCURRING_STATUSES and day >= year_start:
                counts.update(p.id for p in series.others)
        for series in self.series.values():
            if series.kind != GroupKind.THINK_FAMILY or not series.runs_on(self.today):
                continue
            for member in series.others:
                if counts[member.id] < THINK_FAMILY_PER_YEAR:
                    yield self._item(
                        "think_family", member, series.title, date(self.today.year, 12, 31),
                        f"{counts[member.id]} Think Family consultations this year (recommended at least 3)",
                        breach=False,
                    )
