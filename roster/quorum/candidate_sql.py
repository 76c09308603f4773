"""The SQL behind candidate selection: one statement for the whole roster, or the best few.

Kept apart from :mod:`roster.quorum.candidates` (the rules in words) so both stay short.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import select

from roster.availability import _status_columns
from roster.models import REACHABLE_STATUSES, CaseInvolvement, MetaTeamConsent, Person, PersonSkill, Role
from roster.quorum.models import Invitation, InvitationState, QuorumRequest, RequestState
from roster.quorum.policy import EscalationPolicy
from roster.timeutil import LONDON, local_datetime

REACHABLE = {s.value for s in REACHABLE_STATUSES}


def week_start(now: datetime) -> datetime:
    """Monday 00:00 (Europe/London) of ``now``'s week, as UTC."""
    local_day = now.astimezone(LONDON).date()
    return local_datetime(local_day - timedelta(days=local_day.weekday()), time(0, 0))


def roster_query(requester_id: int, case_id: int | None, request_id: int | None, now: datetime, policy: EscalationPolicy):
    """Every active person with what the rules need: status, consent, recent quorums, case, invitation."""
    return _query(requester_id, case_id, request_id, now, policy)[0]


def ranked_query(requester_id: int, case_id: int | None, request_id: int | None, now: datetime,
                 policy: EscalationPolicy, wanted: list[str]):
    """Only people who may be asked now and are not yet invited, best first (rank order of ``rank_key``)."""
    query, parts = _query(requester_id, case_id, request_id, now, policy)
    stats, busy, involved, here, status = parts
    wall = now.astimezone(LONDON).time().replace(tzinfo=None)
    start, end = MetaTeamConsent.contact_from, MetaTeamConsent.contact_until
    within_hours = sa.or_(
        sa.and_(start < end, start <= wall, end > wall),
        sa.and_(start >= end, sa.or_(start <= wall, end > wall)),
    )
    consent_allows = sa.or_(
        Person.role != Role.METATEAM.value,
        sa.and_(MetaTeamConsent.person_id.is_not(None), within_hours,
                sa.func.coalesce(stats.c.joined_week, 0) < MetaTeamConsent.max_per_week),
    )
    fit = sa.literal(0)
    if wanted:  # counted per person left after the filters, not for every skill row of the roster
        fit = (
            select(sa.func.count())
            .where(PersonSkill.person_id == Person.id, sa.func.lower(PersonSkill.skill).in_(wanted))
            .correlate(Person)
            .scalar_subquery()
        )
    tier = sa.case(*((Person.role == role, index) for index, role in enumerate(policy.first_roles)),
                   else_=policy.wider_tier)
    return query.where(
        Person.id != requester_id,
        Person.sms_opt_out.is_(False),
        Person.role.in_(policy.first_roles + policy.wider_roles),
        busy.c.person_id.is_(None),
        involved.c.person_id.is_(None),
        here.c.state.is_(None),
        status.in_(sorted(REACHABLE)),
        consent_allows,
    ).order_by(
        tier, fit.desc(), sa.func.coalesce(stats.c.served, 0), stats.c.last_asked.is_not(None), stats.c.last_asked,
        Person.id,
    )


def _query(requester_id, case_id, request_id, now: datetime, policy: EscalationPolicy):
    joined = Invitation.state == InvitationState.JOINED.value

    def count_joined_since(moment: datetime):
        return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(joined, Invitation.answered_at >= moment), 1), else_=0)), 0)

    stats = (
        select(
            Invitation.person_id.label("person_id"),
            count_joined_since(now - policy.fairness_window).label("served"),
            count_joined_since(week_start(now)).label("joined_week"),
            sa.func.max(Invitation.created_at).label("last_asked"),
        )
        .group_by(Invitation.person_id)
        .subquery("stats")
    )
    sitting = sa.or_(
        QuorumRequest.state == RequestState.OPEN.value,
        sa.and_(
            QuorumRequest.state == RequestState.FORMED.value,
            QuorumRequest.closed_at.is_(None),
            QuorumRequest.formed_at >= now - policy.sitting_for,
        ),
    )
    busy_query = (
        select(Invitation.person_id.label("person_id"))
        .join(QuorumRequest, QuorumRequest.id == Invitation.request_id)
        .where(joined, sitting)
    )
    if request_id is not None:
        busy_query = busy_query.where(QuorumRequest.id != request_id)
    busy = busy_query.distinct().subquery("busy")
    involved = (
        select(CaseInvolvement.person_id.label("person_id")).where(CaseInvolvement.case_id == (case_id or -1)).subquery("involved")
    )
    here = (
        select(Invitation.person_id.label("person_id"), Invitation.state.label("state"))
        .where(Invitation.request_id == (request_id if request_id is not None else -1))
        .subquery("here")
    )
    status = _status_columns(now)
    query = (
        select(
            Person.id,
            Person.name,
            Person.phone,
            Person.role,
            Person.sms_opt_out,
            status,
            MetaTeamConsent.person_id.label("consent_person"),
            MetaTeamConsent.max_per_week,
            MetaTeamConsent.contact_from,
            MetaTeamConsent.contact_until,
            stats.c.served,
            stats.c.joined_week,
            stats.c.last_asked,
            busy.c.person_id.label("busy"),
            involved.c.person_id.label("involved"),
            here.c.state.label("invitation_state"),
        )
        .outerjoin(MetaTeamConsent, MetaTeamConsent.person_id == Person.id)
        .outerjoin(stats, stats.c.person_id == Person.id)
        .outerjoin(busy, busy.c.person_id == Person.id)
        .outerjoin(involved, involved.c.person_id == Person.id)
        .outerjoin(here, here.c.person_id == Person.id)
        .where(Person.active.is_(True))
    )
    return query, (stats, busy, involved, here, status)
