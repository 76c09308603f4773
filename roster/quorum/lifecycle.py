"""A request's life: created with its first wave, formed, expired or cancelled, noted.

AMBIT: "The team is expected to use appropriate technology to support this (mobile
phones, telephone conferencing, ...), enabling team members to form a Reflective
Quorum, flexibly, and at short notice." A request asks a first wave at once; when
enough people join it is formed, the rest are stood down, and the quorum can be
joined in one conference call.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.models import Case, Person
from roster.quorum import messages
from roster.quorum.candidates import candidates_for_request, next_candidates
from roster.quorum.invite import invite, pick_wave, wave_note
from roster.quorum.models import (
    PENDING_STATES,
    Invitation,
    InvitationState,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    QuorumRequest,
    RequestState,
)
from roster.quorum.policy import DEFAULT_POLICY, EscalationPolicy, policy_for_request
from roster.quorum.store import (
    CONTACT_COLUMNS,
    add_event,
    first_name,
    forget_loaded,
    lock_request,
    queue_message,
    queue_texts,
    request_party,
)
from roster.timeutil import ensure_aware, utcnow

MAX_NEED = 12
MAX_DEADLINE_MINUTES = 24 * 60
MAX_REASON = 500
MAX_NEXT_STEP = 2000


class QuorumError(ValueError):
    """A request cannot be made or changed; the message says what to fix."""


def create_request(
    session: Session,
    requester_id: int,
    *,
    need: int = 2,
    need_metateam: int = 0,
    case_reference: str | None = None,
    skills: Iterable[str] = (),
    reason: str = "",
    deadline_minutes: int | None = None,
    now: datetime | None = None,
    policy: EscalationPolicy | None = None,
    urgent: bool = False,
) -> QuorumRequest:
    """Validate a request, invite its first wave (``need`` + 1 people) and commit.

    ``policy`` is the service's; an ``urgent`` request follows its urgent variant (a first
    wave of ``need`` + 4, texted and called at once; see :meth:`EscalationPolicy.urgent`).
    The reason is kept in the database only; texts carry the requester's first name and
    the case reference.
    """
    now = ensure_aware(now or utcnow())
    policy = policy or DEFAULT_POLICY
    deadline_minutes = policy.deadline_minutes if deadline_minutes is None else deadline_minutes
    requester = session.get(Person, requester_id)
    if requester is None or not requester.active:
        raise QuorumError(f"no active person with id {requester_id}")
    if not 1 <= need <= MAX_NEED:
        raise QuorumError(f"--need must be between 1 and {MAX_NEED} (got {need})")
    if not 0 <= need_metateam <= need:
        raise QuorumError(f"--metateam must be between 0 and the number needed ({need}); got {need_metateam}")
    if not 1 <= deadline_minutes <= MAX_DEADLINE_MINUTES:
        raise QuorumError(f"the deadline must be 1 to {MAX_DEADLINE_MINUTES} minutes away (got {deadline_minutes})")
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise QuorumError(f"the reason is {len(reason)} characters; keep it under {MAX_REASON}")
    wanted = sorted({s.strip() for s in skills if s and s.strip()}, key=str.casefold)
    if any(";" in s for s in wanted):
        raise QuorumError("a skill cannot contain ';'")
    case = find_case(session, case_reference)
    request = QuorumRequest(
        requester_id=requester.id,
        case_id=case.id if case else None,
        need=need,
        need_metateam=need_metateam,
        skills=";".join(wanted),
        reason=reason,
        deadline_at=now + timedelta(minutes=deadline_minutes),
        created_at=now,
        urgent=urgent,
    )
    session.add(request)
    session.flush()
    policy = policy_for_request(policy, request)
    size = need + policy.extra_per_wave
    first_wave = pick_wave(next_candidates(session, request, now, policy, size=size, metateam_needed=need_metateam),
                           size, need_metateam)
    if not first_wave:
        why = _why_nobody(candidates_for_request(session, request, now, policy))
        session.rollback()
        raise QuorumError(f"nobody can be asked right now ({why}); see 'diveboat quorum explain'")
    add_event(session, request.id, ("Urgent: requested" if urgent else "Requested") + f" by {first_name(requester.name)}: "
              f"{need} needed" + (f", {need_metateam} from the MetaTeam" if need_metateam else ""), now)
    invite(session, request, first_wave, wave=1, now=now, note=wave_note(1, first_wave, need_metateam, policy),
           policy=policy)
    if len(first_wave) < need:
        add_event(session, request.id, f"Only {len(first_wave)} people can be asked now", now)
    session.commit()
    return request


def find_case(session: Session, reference: str | None) -> Case | None:
    """The case with this reference (case-insensitive), None for no reference; raises QuorumError."""
    if reference is None or not reference.strip():
        return None
    wanted = reference.strip().upper()
    case = session.exec(select(Case).where(sa.func.upper(Case.reference) == wanted)).first()
    if case is None:
        raise QuorumError(f"no case with reference '{reference.strip()}' (cases are known by reference only, e.g. C-1042)")
    return case


def _why_nobody(candidates) -> str:
    reasons: dict[str, int] = {}
    for candidate in candidates:
        for reason in candidate.left_out[:1] or ["already invited"]:
            reasons[reason] = reasons.get(reason, 0) + 1
    common = sorted(reasons.items(), key=lambda item: -item[1])[:3]
    return ", ".join(f"{count} {reason}" for reason, count in common) or "the roster is empty"


_JOINERS = (
    select(*CONTACT_COLUMNS)
    .join(Invitation, Invitation.person_id == Person.id)
    .where(Invitation.request_id == sa.bindparam("request_id"), Invitation.state == InvitationState.JOINED.value)
    .order_by(Invitation.answered_at, Invitation.id)
)


def joiners_of(session: Session, request_id: int) -> list[sa.Row]:
    """People who joined a request (``CONTACT_COLUMNS``), in the order they joined."""
    return list(session.execute(_JOINERS, {"request_id": request_id}))


def form(session: Session, request: QuorumRequest, now: datetime, policy: EscalationPolicy) -> None:
    """The quorum is met: confirm joiners (and the requester), stand everyone else down.

    The request must be locked by the caller (see :func:`store.lock_request`).
    """
    request.state = RequestState.FORMED.value
    request.formed_at = now
    request.conference_name = f"diveboat-quorum-{request.id}"
    session.add(request)
    requester, case_reference = request_party(session, request)
    asker = first_name(requester.name)
    joiners = joiners_of(session, request.id)
    texts = []
    for joiner in joiners:
        others = [first_name(p.name) for p in joiners if p.id != joiner.id]
        texts.append((joiner, messages.formed_sms(asker, case_reference, others, policy.conference_number)))
    names = [first_name(p.name) for p in joiners]
    texts.append((requester, messages.formed_for_requester_sms(case_reference, names, policy.conference_number)))
    _text_all(session, texts, request, now)
    stood_down = _release_pending(session, request, InvitationState.STOOD_DOWN, now,
                                  messages.stand_down_sms(asker, case_reference))
    add_event(session, request.id, f"Formed: {', '.join(names)} joined" + (f"; stood down {', '.join(stood_down)}" if stood_down else ""), now)


def close(session: Session, request: QuorumRequest, state: RequestState, now: datetime) -> str:
    """End a request without a quorum (expired or cancelled); returns the summary noted."""
    request.state = state.value
    request.closed_at = now
    session.add(request)
    requester, case_reference = request_party(session, request)
    cancelled = state is RequestState.CANCELLED
    closing = messages.closed_sms(first_name(requester.name), case_reference, cancelled=cancelled)
    outcome = InvitationState.STOOD_DOWN if cancelled else InvitationState.NO_ANSWER
    _release_pending(session, request, outcome, now, closing if cancelled else None)
    _text_all(session, [(joiner, closing) for joiner in joiners_of(session, request.id)], request, now)
    summary = ("Cancelled" if cancelled else "Not formed by the deadline") + ": " + outcome_summary(session, request.id)
    add_event(session, request.id, summary, now)
    return summary


def outcome_summary(session: Session, request_id: int) -> str:
    """What happened to each person invited: "Alex joined; Riley no answer; ..."."""
    rows = session.exec(
        select(Person.name, Invitation.state, Invitation.error_text)
        .join(Invitation, Invitation.person_id == Person.id)
        .where(Invitation.request_id == request_id)
        .order_by(Invitation.wave, Invitation.id)
    ).all()
    parts = []
    for name, state, error in rows:
        words = state.replace("_", " ")
        parts.append(f"{first_name(name)} {words}" + (f" ({error})" if state == InvitationState.FAILED.value and error else ""))
    return "; ".join(parts) or "nobody was invited"


_invitation = Invitation.__table__
_outbound = OutboundMessage.__table__
# Built once: a quorum forms while replies pour in.
_PENDING_INVITEES = (
    select(Invitation.id, Person.name, Person.phone, Person.sms_opt_out)
    .join(Person, Person.id == Invitation.person_id)
    .where(Invitation.request_id == sa.bindparam("request_id"), Invitation.state.in_([s.value for s in PENDING_STATES]))
    .order_by(Invitation.id)
)
_SET_STATES = (
    sa.update(_invitation).where(_invitation.c.id.in_(sa.bindparam("ids", expanding=True)))
    .values(state=sa.bindparam("new_state"))
)
_QUEUED = _outbound.c.status == MessageStatus.QUEUED.value
_WITHDRAW_TEXTS = sa.delete(_outbound).where(
    _outbound.c.invitation_id.in_(sa.bindparam("ids", expanding=True)), _outbound.c.kind == MessageKind.SMS.value, _QUEUED,
).returning(_outbound.c.invitation_id)
_WITHDRAW_CALLS = sa.delete(_outbound).where(
    _outbound.c.request_id == sa.bindparam("request_id"), _outbound.c.kind == MessageKind.VOICE.value, _QUEUED)


def _release_pending(
    session: Session, request: QuorumRequest, outcome: InvitationState, now: datetime, text: str | None
) -> list[str]:
    """Move waiting invitations to ``outcome``; unsent invitations are withdrawn, others get ``text``.

    A few statements whatever the number of invitations (forming a quorum happens while
    replies pour in).
    """
    pending = session.execute(_PENDING_INVITEES, {"request_id": request.id}).all()
    if pending:
        ids = [row.id for row in pending]
        session.execute(_SET_STATES, {"ids": ids, "new_state": outcome.value})
        forget_loaded(session, Invitation)
        withdrawn = set(session.execute(_WITHDRAW_TEXTS, {"ids": ids}).scalars())
        if text:
            told = [(row.phone, text) for row in pending if row.id not in withdrawn and not row.sms_opt_out]
            queue_texts(session, told, request_id=request.id, now=now)
    session.execute(_WITHDRAW_CALLS, {"request_id": request.id})
    return [first_name(row.name) for row in pending]


def _text_all(session: Session, texts: list[tuple[sa.Row, str]], request: QuorumRequest, now: datetime) -> None:
    """Queue each (person, text), except to people who opted out of SMS."""
    queue_texts(session, [(person.phone, body) for person, body in texts if not person.sms_opt_out],
                request_id=request.id, now=now)


def cancel_request(session: Session, request_id: int, *, now: datetime | None = None) -> QuorumRequest:
    """Cancel an open request: waiting and joined people are told; unsent texts are withdrawn."""
    now = ensure_aware(now or utcnow())
    request = lock_request(session, request_id)
    if request is None:
        session.rollback()
        raise QuorumError(f"no quorum request {request_id} (see 'diveboat quorum list')")
    if request.state != RequestState.OPEN.value:
        session.rollback()
        raise QuorumError(f"quorum request {request_id} is already {request.state}; only open requests can be cancelled")
    close(session, request, RequestState.CANCELLED, now)
    session.commit()
    return request


def save_next_step(session: Session, request_id: int, text: str, *, now: datetime | None = None) -> QuorumRequest:
    """Store the agreed next step (Thinking Together's "return to purpose"); closes a formed quorum.

    Refer to the case by its reference only: no client names.
    """
    now = ensure_aware(now or utcnow())
    text = (text or "").strip()
    if not text:
        raise QuorumError("the next step is empty")
    if len(text) > MAX_NEXT_STEP:
        raise QuorumError(f"the next step is {len(text)} characters; keep it under {MAX_NEXT_STEP}")
    request = lock_request(session, request_id)
    if request is None:
        session.rollback()
        raise QuorumError(f"no quorum request {request_id}")
    if request.state == RequestState.OPEN.value:
        session.rollback()
        raise QuorumError(f"quorum request {request_id} is still open; note the next step once it is formed")
    request.next_step = text
    if request.closed_at is None:
        request.closed_at = now
    session.add(request)
    add_event(session, request.id, "Next step noted", now)
    session.commit()
    return request


def conference_participants(session: Session, request_id: int) -> list[str]:
    """Phones to dial into the conference: the requester, then the joiners."""
    request = session.get(QuorumRequest, request_id)
    if request is None:
        return []
    requester = session.get(Person, request.requester_id)
    return [requester.phone] + [p.phone for p in joiners_of(session, request_id)]


def queue_conference(session: Session, request_id: int, *, now: datetime | None = None) -> list[OutboundMessage]:
    """Queue one conference call per participant of a formed request (not twice while in flight)."""
    now = ensure_aware(now or utcnow())
    request = lock_request(session, request_id)
    if request is None:
        session.rollback()
        raise QuorumError(f"no quorum request {request_id}")
    if request.state != RequestState.FORMED.value:
        session.rollback()
        raise QuorumError(f"quorum request {request_id} is {request.state}; a conference needs a formed quorum")
    in_flight = session.exec(
        select(OutboundMessage.id).where(
            OutboundMessage.request_id == request_id,
            OutboundMessage.kind == MessageKind.CONFERENCE.value,
            OutboundMessage.status.in_([MessageStatus.QUEUED.value, MessageStatus.SENDING.value]),
        )
    ).first()
    if in_flight is not None:
        session.rollback()
        raise QuorumError(f"the conference for request {request_id} is already being dialled")
    requester, case_reference = request_party(session, request)
    greeting = messages.conference_greeting(first_name(requester.name), case_reference)
    people = [requester] + joiners_of(session, request_id)
    queued = [
        queue_message(session, kind=MessageKind.CONFERENCE, to_phone=p.phone, body=greeting, request_id=request_id, now=now)
        for p in people
    ]
    add_event(session, request_id, "Conference: calling " + ", ".join(first_name(p.name) for p in people), now)
    session.commit()
    return queued
