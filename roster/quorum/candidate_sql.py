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
    stats = (
        select(
            Invitation.person_id.label("person_id"),
            _count_where(_joined_since(now - policy.fairness_window)).label("served"),
            _count_where(_joined_since(week_start(now))).label("joined_week"),
            sa.func.max(Invitation.created_at).label("last_asked"),
        )
        .group_by(Invitation.person_id)
        .subquery("stats")
    )
    busy_query = (
        select(Invitation.person_id.label("person_id"))
        .join(QuorumRequest, QuorumRequest.id == Invitation.request_id)
        .where(Invitation.state == InvitationState.JOINED.value, _sitting(now, policy))
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
    return (
        select(
            *_person_columns(_status_columns(now)),
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


def ranked_query(requester_id: int, case_id: int | None, request_id: int | None, now: datetime,
                 policy: EscalationPolicy, wanted: list[str]):
    """Only people who may be asked now and are not yet invited, best first (rank order of ``rank_key``).

    Built for PostgreSQL's blind spot: its planner cannot tell how many people pass the
    status filter (it guesses 1 %; often 40 % do), and under that guess a table or
    aggregate joined to them is scanned again for each one. So only the consent row is
    joined (by its key); each remaining person's skills, quorum history and conflicts
    are looked up through an index by correlated subqueries, a cost proportional to the
    people left, whatever the plan. Columns the filters leave empty are plain NULLs.
    """
    status = _status_columns(now)
    served = _per_person(sa.func.count(), _joined_since(now - policy.fairness_window))
    joined_week = _per_person(sa.func.count(), _joined_since(week_start(now)))
    last_asked = _per_person(sa.func.max(Invitation.created_at))
    busy = (
        select(Invitation.id)
        .join(QuorumRequest, QuorumRequest.id == Invitation.request_id)
        .where(Invitation.person_id == Person.id, Invitation.state == InvitationState.JOINED.value, _sitting(now, policy))
    )
    if request_id is not None:
        busy = busy.where(QuorumRequest.id != request_id)
    conflicts = [busy]  # sitting in another quorum
    if case_id is not None:  # involved in this case
        conflicts.append(select(CaseInvolvement.person_id).where(CaseInvolvement.case_id == case_id,
                                                                CaseInvolvement.person_id == Person.id))
    if request_id is not None:  # already invited to this request
        conflicts.append(select(Invitation.id).where(Invitation.request_id == request_id, Invitation.person_id == Person.id))
    wall = now.astimezone(LONDON).time().replace(tzinfo=None)
    start, end = MetaTeamConsent.contact_from, MetaTeamConsent.contact_until
    within_hours = sa.or_(
        sa.and_(start < end, start <= wall, end > wall),
        sa.and_(start >= end, sa.or_(start <= wall, end > wall)),
    )
    consent_allows = sa.or_(
        Person.role != Role.METATEAM.value,
        sa.and_(MetaTeamConsent.person_id.is_not(None), within_hours, joined_week < MetaTeamConsent.max_per_week),
    )
    fit = sa.literal(0)
    if wanted:
        fit = select(sa.func.count()).where(
            PersonSkill.person_id == Person.id, sa.func.lower(PersonSkill.skill).in_(wanted)
        ).correlate(Person).scalar_subquery()
    tier = sa.case(*((Person.role == role, index) for index, role in enumerate(policy.first_roles)),
                   else_=policy.wider_tier)
    return (
        select(
            *_person_columns(status),
            served.label("served"),
            joined_week.label("joined_week"),
            last_asked.label("last_asked"),
            sa.null().label("busy"),
            sa.null().label("involved"),
            sa.null().label("invitation_state"),
        )
        .outerjoin(MetaTeamConsent, MetaTeamConsent.person_id == Person.id)
        .where(
            Person.active.is_(True),
            Person.id != requester_id,
            Person.sms_opt_out.is_(False),
            Person.role.in_(policy.first_roles + policy.wider_roles),
            status.in_(sorted(REACHABLE)),
            *(~conflict.exists() for conflict in conflicts),
            consent_allows,
        )
        .order_by(tier, fit.desc(), served, last_asked.asc().nulls_first(), Person.id)
    )


def _person_columns(status) -> tuple:
    """The person, their ``status`` (``_status_columns``) and their MetaTeam consent (joined by the caller)."""
    return (
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
    )


def _joined_since(moment: datetime):
    """An invitation its person joined at or after ``moment``."""
    return sa.and_(Invitation.state == InvitationState.JOINED.value, Invitation.answered_at >= moment)


def _count_where(condition):
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _per_person(aggregate, *conditions):
    """``aggregate`` over the invitations of the person in the enclosing query (matching ``conditions``)."""
    return select(aggregate).where(Invitation.person_id == Person.id, *conditions).correlate(Person).scalar_subquery()


def _sitting(now: datetime, policy: EscalationPolicy):
    """A request still sitting: open, or formed within ``policy.sitting_for`` and not closed."""
    return sa.or_(
        QuorumRequest.state == RequestState.OPEN.value,
        sa.and_(
            QuorumRequest.state == RequestState.FORMED.value,
            QuorumRequest.closed_at.is_(None),
            QuorumRequest.formed_at >= now - policy.sitting_for,
        ),
    )
