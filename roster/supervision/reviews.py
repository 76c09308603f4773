"""Case reviews: "All cases must be reviewed at least every twelve weeks."

(Council supervision procedure, 6. Functions / Content of Supervision.) A case is
reviewed in the supervision of a worker involved with it; the plan puts each review
in the last of their sessions before it falls due, then counts twelve weeks on from
there. Cases appear by reference code only.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.models import Case, CaseInvolvement
from roster.supervision.models import (
    OCCURRING_STATUSES,
    AgreementKind,
    CaseReview,
    SupervisionAgreement,
    SupervisionSession,
)
from roster.supervision.rules import CASE_REVIEW_WEEKS
from roster.timeutil import LONDON, local_datetime

REVIEW_INTERVAL = timedelta(weeks=CASE_REVIEW_WEEKS)
REVIEWING_KINDS = (AgreementKind.ONE_TO_ONE, AgreementKind.CASELOAD)


@dataclass(frozen=True)
class CaseReviewPlan:
    """When a case was last reviewed, when the next review is due, and where it is planned."""

    reference: str
    last_reviewed: date | None
    due_on: date
    planned_on: date | None
    planned_session_id: int | None

    def overdue(self, today: date) -> bool:
        return self.due_on < today

    @property
    def planned_late(self) -> bool:
        return self.planned_on is None or self.planned_on > self.due_on


def last_reviews(session: Session, case_ids: Iterable[int] | None = None) -> dict[int, date]:
    """The last review day of each case that has one (of ``case_ids``, if given)."""
    query = select(CaseReview.case_id, sa.func.max(CaseReview.reviewed_on)).group_by(CaseReview.case_id)
    if case_ids is not None:
        query = query.where(CaseReview.case_id.in_(list(case_ids) or [-1]))
    return {case_id: day for case_id, day in session.exec(query)}


def _reviewing_sessions(
    session: Session, today: date, supervisee_ids: Iterable[int] | None
) -> dict[int, list[tuple[date, int]]]:
    """Future occurring one-to-one/caseload sessions of each supervisee, in date order."""
    query = (
        select(SupervisionAgreement.supervisee_id, SupervisionSession.starts_at, SupervisionSession.id)
        .join(SupervisionAgreement, SupervisionAgreement.id == SupervisionSession.agreement_id)
        .where(
            SupervisionAgreement.kind.in_([k.value for k in REVIEWING_KINDS]),
            SupervisionSession.status.in_([s.value for s in OCCURRING_STATUSES]),
            SupervisionSession.starts_at >= local_datetime(today, time(0)),
        )
        .order_by(SupervisionSession.starts_at)
    )
    if supervisee_ids is not None:
        query = query.where(SupervisionAgreement.supervisee_id.in_(list(supervisee_ids) or [-1]))
    grouped: dict[int, list[tuple[date, int]]] = {}
    for supervisee_id, starts_at, session_id in session.exec(query):
        grouped.setdefault(supervisee_id, []).append((starts_at.astimezone(LONDON).date(), session_id))
    return grouped


def review_schedule(
    session: Session, today: date, *, horizon: date | None = None, person_ids: Iterable[int] | None = None
) -> dict[str, list[tuple[date, int]]]:
    """Planned reviews per case reference up to ``horizon``: ``[(day, session_id), ...]``.

    With ``person_ids``: only the cases those people are involved in (still planned
    over the sessions of everyone involved)."""
    horizon = horizon or today + timedelta(days=400)
    involvement = select(CaseInvolvement.case_id, CaseInvolvement.person_id)
    cases_query = select(Case).where(Case.active.is_(True)).order_by(Case.reference)
    if person_ids is not None:
        theirs = select(CaseInvolvement.case_id).where(CaseInvolvement.person_id.in_(list(person_ids) or [-1]))
        involvement = involvement.where(CaseInvolvement.case_id.in_(theirs))
        cases_query = cases_query.where(Case.id.in_(theirs))
    workers: dict[int, list[int]] = {}
    for case_id, person_id in session.exec(involvement):
        workers.setdefault(case_id, []).append(person_id)
    cases = list(session.exec(cases_query))
    everyone = None if person_ids is None else {p for ids in workers.values() for p in ids}
    sessions = _reviewing_sessions(session, today, everyone)
    last = last_reviews(session, None if person_ids is None else [c.id for c in cases])
    schedule: dict[str, list[tuple[date, int]]] = {}
    for case in cases:
        options = sorted({item for worker in workers.get(case.id, []) for item in sessions.get(worker, [])})
        schedule[case.reference] = _walk(options, _due(last.get(case.id), today), horizon)
    return schedule


def _due(last: date | None, today: date) -> date:
    """A case never reviewed is due now; otherwise twelve weeks after its last review."""
    return today if last is None else last + REVIEW_INTERVAL


def _walk(options: list[tuple[date, int]], due: date, horizon: date) -> list[tuple[date, int]]:
    """Pick the last session on or before each due day (or the first after, if none)."""
    picked: list[tuple[date, int]] = []
    days = [day for day, _ in options]
    start = 0
    while start < len(options):
        index = bisect_right(days, due, lo=start) - 1
        if index < start:
            index = start
        day, session_id = options[index]
        if day > horizon:
            break
        picked.append((day, session_id))
        due = day + REVIEW_INTERVAL
        start = index + 1
    return picked


def case_review_plan(session: Session, today: date) -> list[CaseReviewPlan]:
    """Every active case: last review, next due day and the session it is planned in."""
    last_by_id = last_reviews(session)
    references = dict(session.exec(select(Case.reference, Case.id).where(Case.active.is_(True))).all())
    schedule = review_schedule(session, today)
    plans = []
    for reference, picks in sorted(schedule.items()):
        last = last_by_id.get(references[reference])
        planned = picks[0] if picks else (None, None)
        plans.append(CaseReviewPlan(reference, last, _due(last, today), planned[0], planned[1]))
    return plans


def reviews_by_session(
    session: Session, today: date, horizon: date, person_ids: Iterable[int] | None = None
) -> dict[int, list[str]]:
    """Case references planned for review at each session (for calendar descriptions)."""
    by_session: dict[int, list[str]] = {}
    for reference, picks in review_schedule(session, today, horizon=horizon, person_ids=person_ids).items():
        for _, session_id in picks:
            by_session.setdefault(session_id, []).append(reference)
    return {key: sorted(value) for key, value in by_session.items()}
