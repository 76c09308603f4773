"""Who may be asked to join a quorum, who is asked first, and why.

AMBIT: "The Meta-team may in some situations be those KeyWorkers who are not working
directly with a particular young person, but who make themselves available to the
Keyworker who is 'in the thick of it' via a Reflective Quorum. More formally, the
MetaTeam refers to the team of specialist professionals ... who have given consent to
an agreed level of consultation." Hence the rules below: nobody involved in the same
case (too close to the family), MetaTeam only within the consent they gave.

Everything is worked out from two SQL statements, whatever the size of the roster
(see :mod:`roster.quorum.candidate_sql`); choosing a wave reads only the best few rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.models import Person, PersonSkill, Role
from roster.quorum.candidate_sql import REACHABLE, ranked_query, roster_query
from roster.quorum.models import QuorumRequest
from roster.quorum.policy import DEFAULT_POLICY, EscalationPolicy
from roster.quorum.store import first_name, lock_wave_choice
from roster.timeutil import LONDON, ensure_aware

ROLE_LABELS = {
    Role.KEYWORKER.value: "keyworker",
    Role.METATEAM.value: "MetaTeam",
    Role.EXPERT_BY_EXPERIENCE.value: "Expert by Experience",
    Role.MANAGER.value: "manager",
}
NEVER = datetime.min.replace(tzinfo=LONDON)
STATUS_LABELS = {"on_duty": "on duty", "in_field": "in the field", "off": "off duty", "leave": "on leave", "sick": "off sick"}


def status_label(status: str) -> str:
    """A status in words ("in the field", "on leave")."""
    return STATUS_LABELS.get(status, status.replace("_", " "))


@dataclass
class Candidate:
    """One person as seen by a quorum request: eligible or left out, and why."""

    person_id: int
    name: str
    phone: str
    role: str
    status: str
    tier: int | None
    matched_skills: tuple[str, ...] = ()
    served_recently: int = 0
    last_asked_at: datetime | None = None
    invitation_state: str | None = None
    left_out: list[str] = field(default_factory=list)
    rank: int | None = None

    @property
    def first_name(self) -> str:
        return first_name(self.name)

    @property
    def eligible(self) -> bool:
        """May be invited now (not left out, not already invited to this request)."""
        return not self.left_out and self.invitation_state is None

    def describe(self, now: datetime, wanted: Iterable[str] = ()) -> str:
        """Why this person is (or would be) picked, or why they are left out."""
        if self.left_out:
            return "left out: " + "; ".join(self.left_out)
        parts = [f"{ROLE_LABELS.get(self.role, self.role)}, {status_label(self.status)}"]
        if self.matched_skills:
            parts.append("fits " + ", ".join(self.matched_skills))
        elif list(wanted):
            parts.append("none of the wanted skills")
        served = self.served_recently
        parts.append(f"{served} quorum{'s' if served != 1 else ''} in 30 days")
        parts.append("last asked " + _ago(self.last_asked_at, now))
        text = "; ".join(parts)
        if self.invitation_state:
            text = f"invited ({self.invitation_state.replace('_', ' ')}): {text}"
        return text


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    days = (now.astimezone(LONDON).date() - moment.astimezone(LONDON).date()).days
    return "today" if days <= 0 else "yesterday" if days == 1 else f"{days} days ago"


def _within(moment: datetime, start: time, end: time) -> bool:
    wall = moment.astimezone(LONDON).time().replace(tzinfo=None)
    return start <= wall < end if start < end else (wall >= start or wall < end)


def candidates_for(
    session: Session,
    *,
    requester_id: int,
    case_id: int | None = None,
    skills: Iterable[str] = (),
    request_id: int | None = None,
    now: datetime,
    policy: EscalationPolicy = DEFAULT_POLICY,
) -> list[Candidate]:
    """Every active person, eligible ones first in the order they would be asked.

    Ranking: first roles in order (keyworkers, then managers) before wider ones, then fit (wanted skills matched),
    then fairness (fewest quorums served in the last 30 days, then longest since
    last asked), so the same two people are not always called.
    """
    now = ensure_aware(now)
    wanted = [s.strip().casefold() for s in skills if s.strip()]
    matched = _matched_skills(session, wanted)
    query = roster_query(requester_id, case_id, request_id, now, policy)
    candidates = [_candidate(row, requester_id, matched.get(row.id, ()), now, policy) for row in session.exec(query).all()]
    eligible = sorted((c for c in candidates if c.eligible), key=rank_key)
    for position, candidate in enumerate(eligible, start=1):
        candidate.rank = position
    others = sorted((c for c in candidates if not c.eligible), key=lambda c: (c.left_out != [], c.name, c.person_id))
    return eligible + others


def rank_key(candidate: Candidate):
    """Tier, then fit, then fewest served, then longest since last asked."""
    last = candidate.last_asked_at or NEVER
    return (candidate.tier, -len(candidate.matched_skills), candidate.served_recently, last, candidate.person_id)


def candidates_for_request(
    session: Session, request: QuorumRequest, now: datetime, policy: EscalationPolicy = DEFAULT_POLICY
) -> list[Candidate]:
    """:func:`candidates_for` with a stored request's parameters."""
    return candidates_for(
        session,
        requester_id=request.requester_id,
        case_id=request.case_id,
        skills=request.skill_list,
        request_id=request.id,
        now=now,
        policy=policy,
    )


def next_candidates(
    session: Session, request: QuorumRequest, now: datetime, policy: EscalationPolicy = DEFAULT_POLICY,
    *, size: int, metateam_needed: int = 0,
) -> list[Candidate]:
    """The ``size`` best eligible people not yet invited, plus the ``metateam_needed`` best MetaTeam, ranked.

    The same rules and order as :func:`candidates_for`, worked out and limited in
    SQL, so choosing a wave reads a handful of rows whatever the size of the roster.
    Takes the wave-choice lock (see :func:`store.lock_wave_choice`): the caller
    invites from the result and commits, and only then may another wave be chosen.
    """
    now = ensure_aware(now)
    lock_wave_choice(session)
    wanted = [s.strip().casefold() for s in request.skill_list]
    query = ranked_query(request.requester_id, request.case_id, request.id, now, policy, wanted)
    rows = list(session.exec(query.limit(max(0, size))))
    if metateam_needed:
        rows += session.exec(query.where(Person.role == Role.METATEAM.value).limit(metateam_needed)).all()
    matched = _matched_skills(session, wanted, {row.id for row in rows})
    found = {row.id: _candidate(row, request.requester_id, matched.get(row.id, ()), now, policy) for row in rows}
    ranked = sorted((c for c in found.values() if c.eligible), key=rank_key)
    for position, candidate in enumerate(ranked, start=1):
        candidate.rank = position
    return ranked


def _matched_skills(session: Session, wanted: list[str], people: set[int] | None = None) -> dict[int, tuple[str, ...]]:
    if not wanted or people == set():
        return {}
    query = select(PersonSkill.person_id, PersonSkill.skill).where(sa.func.lower(PersonSkill.skill).in_(wanted))
    if people is not None:
        query = query.where(PersonSkill.person_id.in_(sorted(people)))
    rows = session.exec(query.order_by(PersonSkill.skill))
    grouped: dict[int, list[str]] = {}
    for person_id, skill in rows:
        grouped.setdefault(person_id, []).append(skill)
    return {person_id: tuple(found) for person_id, found in grouped.items()}


def _candidate(row, requester_id: int, matched: tuple[str, ...], now: datetime, policy: EscalationPolicy) -> Candidate:
    tier = policy.tier(row.role)
    candidate = Candidate(
        person_id=row.id,
        name=row.name,
        phone=row.phone,
        role=row.role,
        status=row.status,
        tier=tier,
        matched_skills=matched,
        served_recently=int(row.served or 0),
        last_asked_at=ensure_aware(row.last_asked) if row.last_asked else None,
        invitation_state=row.invitation_state,
    )
    candidate.left_out = _left_out(row, requester_id, tier, now)
    return candidate


def _left_out(row, requester_id: int, tier: int | None, now: datetime) -> list[str]:
    if row.id == requester_id:
        return ["the person asking"]
    reasons = []
    if tier is None:
        reasons.append(f"{ROLE_LABELS.get(row.role, row.role)}s are not asked for quorums")
    if row.status not in REACHABLE:
        reasons.append(f"{status_label(row.status)} now")
    if row.sms_opt_out:
        reasons.append("opted out of SMS")
    if row.involved is not None:
        reasons.append("involved in this case (too close to the family)")
    if row.busy is not None:
        reasons.append("already sitting in another open quorum")
    if row.role == Role.METATEAM.value:
        reasons.extend(_consent_problems(row, now))
    return reasons


def _consent_problems(row, now: datetime) -> list[str]:
    if row.consent_person is None:
        return ["no MetaTeam consent recorded"]
    problems = []
    if not _within(now, row.contact_from, row.contact_until):
        problems.append(f"outside consented hours {row.contact_from:%H:%M}-{row.contact_until:%H:%M}")
    used = int(row.joined_week or 0)
    if used >= row.max_per_week:
        problems.append(f"weekly limit reached ({used} of {row.max_per_week} this week)")
    return problems
