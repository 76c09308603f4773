"""Inviting people: choosing a wave, giving each person a code, queueing the texts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.models import Person, Role
from roster.quorum import messages
from roster.quorum.candidates import Candidate, next_candidates
from roster.quorum.models import ANSWERABLE_STATES, Invitation, InvitationState, MessageKind, QuorumRequest, RequestState
from roster.quorum.policy import DEFAULT_POLICY, EscalationPolicy, policy_for_request
from roster.quorum.store import add_event, first_name, queue_message, request_party

FIRST_CODES = [str(n) for n in range(3, 10)]  # never 1 or 2: those are answers
MORE_CODES = [str(n) for n in range(10, 100)]


def pick_wave(candidates: Sequence[Candidate], size: int, metateam_needed: int) -> list[Candidate]:
    """The next ``size`` people to ask: MetaTeam places first, then in rank order.

    Candidates arrive ranked with first-tier roles ahead of the MetaTeam and Experts
    by Experience, so the wider circle is reached only when the first runs out.
    """
    pool = [c for c in candidates if c.eligible]
    metateam = [c for c in pool if c.role == Role.METATEAM.value][:metateam_needed]
    chosen = {c.person_id for c in metateam}
    rest = [c for c in pool if c.person_id not in chosen]
    return metateam + rest[: max(0, size - len(metateam))]


def wave_note(wave: int, people: Sequence[Candidate], metateam_needed: int,
              policy: EscalationPolicy = DEFAULT_POLICY) -> str:
    """"Wave 2", or "Wave 2 (widened ...)" when it reaches beyond the first-tier roles."""
    slots = 0
    while slots < min(metateam_needed, len(people)) and people[slots].role == Role.METATEAM.value:
        slots += 1
    widened = any(c.tier == policy.wider_tier for c in people[slots:])
    return f"Wave {wave}" + (" (widened to the MetaTeam and Experts by Experience)" if widened else "")


_COUNT_JOINED = (
    sa.select(sa.func.count(), sa.func.sum(sa.case((Person.role == Role.METATEAM.value, 1), else_=0)))
    .select_from(Invitation)
    .join(Person, Person.id == Invitation.person_id)
    .where(Invitation.request_id == sa.bindparam("request_id"), Invitation.state == InvitationState.JOINED.value)
)


def counts(session: Session, request_id: int) -> tuple[int, int]:
    """(joined, joined MetaTeam) for a request."""
    joined, metateam = session.execute(_COUNT_JOINED, {"request_id": request_id}).one()
    return joined, int(metateam or 0)


def quorum_met(session: Session, request_id: int, need: int, need_metateam: int) -> bool:
    """Whether a request's joiners meet what it needs: ``need`` people, ``need_metateam`` of them MetaTeam."""
    joined, joined_metateam = counts(session, request_id)
    return joined >= need and joined_metateam >= need_metateam


def still_needed(session: Session, request: QuorumRequest) -> tuple[int, int]:
    """(people still needed, MetaTeam still needed) for a request."""
    joined, joined_metateam = counts(session, request.id)
    return max(0, request.need - joined), max(0, request.need_metateam - joined_metateam)


def invite(
    session: Session, request: QuorumRequest, people: Sequence[Candidate], *, wave: int, now: datetime, note: str = "",
    policy: EscalationPolicy = DEFAULT_POLICY,
) -> list[Invitation]:
    """Create invitations for ``people`` and queue their SMS (and a voice call each when the
    request's policy calls at once); notes the step as an event."""
    if not people:
        return []
    call = policy.calls_at_once
    requester, case_reference = request_party(session, request)
    taken = _codes_in_use(session, [c.person_id for c in people])
    invitations = []
    for candidate in people:
        code = _free_code(request.id, taken.get(candidate.person_id, set()))
        invitation = Invitation(
            request_id=request.id,
            person_id=candidate.person_id,
            wave=wave,
            code=code,
            created_at=now,
            reason_picked=f"wave {wave}: {candidate.describe(now, request.skill_list)}"[:300],
            voice_called_at=now if call else None,
        )
        session.add(invitation)
        invitations.append((invitation, candidate, bool(taken.get(candidate.person_id))))
    session.flush()
    for invitation, candidate, several_open in invitations:
        body = messages.invitation_sms(first_name(requester.name), case_reference, invitation.code, several_open=several_open)
        queue_message(session, to_phone=candidate.phone, body=body, request_id=request.id, invitation_id=invitation.id, now=now)
    if call:
        script = messages.voice_script(first_name(requester.name), case_reference)
        for invitation, candidate, _ in invitations:
            queue_message(session, kind=MessageKind.VOICE, to_phone=candidate.phone, body=script, request_id=request.id,
                          invitation_id=invitation.id, now=now)
    names = ", ".join(c.first_name for c in people)
    how = "by SMS and voice" if call else "by SMS"
    add_event(session, request.id, f"{note or f'Wave {wave}'}: invited {names} {how}", now)
    return [invitation for invitation, _, _ in invitations]


def replace(
    session: Session, request: QuorumRequest, failed: Invitation, now: datetime, policy: EscalationPolicy = DEFAULT_POLICY
) -> list[Invitation]:
    """Invite the next candidate in place of a failed invitation (the request must be locked);
    ``policy`` is the service's (an urgent request's own applies)."""
    if request.state != RequestState.OPEN.value or now >= request.deadline_at:
        return []
    policy = policy_for_request(policy, request)
    failed_person = session.get(Person, failed.person_id)
    _, metateam_needed = still_needed(session, request)
    want_metateam = 1 if failed_person and failed_person.role == Role.METATEAM.value and metateam_needed else 0
    people = pick_wave(next_candidates(session, request, now, policy, size=1, metateam_needed=want_metateam), 1,
                       want_metateam)
    if not people:
        add_event(session, request.id, f"Nobody left to ask in place of {first_name(failed_person.name)}", now)
        return []
    return invite(session, request, people, wave=failed.wave, now=now, note=f"In place of {first_name(failed_person.name)}",
                  policy=policy)


def _codes_in_use(session: Session, person_ids: list[int]) -> dict[int, set[str]]:
    rows = session.exec(
        select(Invitation.person_id, Invitation.code)
        .join(QuorumRequest, QuorumRequest.id == Invitation.request_id)
        .where(
            Invitation.person_id.in_(person_ids),
            QuorumRequest.state == RequestState.OPEN.value,
            Invitation.state.in_([s.value for s in ANSWERABLE_STATES]),
        )
    )
    taken: dict[int, set[str]] = {}
    for person_id, code in rows:
        taken.setdefault(person_id, set()).add(code)
    return taken


def _free_code(request_id: int, taken: set[str]) -> str:
    """The request's own code (the same for everyone when possible), else the next free one."""
    start = (request_id - 1) % len(FIRST_CODES)
    for code in FIRST_CODES[start:] + FIRST_CODES[:start] + MORE_CODES:
        if code not in taken:
            return code
    return str(request_id)
