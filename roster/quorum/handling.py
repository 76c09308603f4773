"""Replies from workers (SMS, keypresses, or typed on their behalf) and what they change.

One handler for every way a reply arrives, idempotent on Twilio's MessageSid /
CallSid: a duplicate webhook delivery counts once. Rules (issue 3):

- a bare answer goes to the sender's most recent open invitation; a code picks one;
- a later answer replaces an earlier one while the request is open;
- when the quorum is met, joiners are confirmed and the rest stood down; a late
  ``1`` gets "already formed, thanks" and does not count;
- unparseable replies are kept for the coordinator and get one help reply per
  invitation (no SMS loops); ``STOP`` opts out, ``START`` opts back in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.models import Person
from roster.phones import PhoneError, normalise_phone
from roster.quorum import messages
from roster.quorum.invite import counts
from roster.quorum.lifecycle import form
from roster.quorum.models import (
    ANSWERABLE_STATES,
    PENDING_STATES,
    Channel,
    InboundMessage,
    Invitation,
    InvitationState,
    QuorumRequest,
    RequestState,
)
from roster.quorum.policy import DEFAULT_POLICY, EscalationPolicy
from roster.quorum.replies import ParsedReply, ReplyKind, parse_reply
from roster.quorum.store import add_event, first_name, lock_request, queue_message, request_party
from roster.timeutil import ensure_aware, utcnow


LATE_REPLY_WINDOW = timedelta(hours=12)


@dataclass(frozen=True)
class ReplyOutcome:
    """What a reply did. ``reply_text`` is the text queued back to the sender, for information."""

    outcome: str
    understood: bool = True
    reply_text: str | None = None
    invitation_id: int | None = None
    request_id: int | None = None
    formed: bool = False
    duplicate: bool = False


def record_sms_reply(
    session: Session,
    *,
    from_phone: str,
    body: str,
    provider_sid: str,
    received_at: datetime | None = None,
    policy: EscalationPolicy | None = None,
) -> ReplyOutcome:
    """Record and act on an SMS reply (idempotent on ``provider_sid``); commits."""
    received_at = ensure_aware(received_at or utcnow())
    phone = _phone(from_phone)
    inbound = _store(session, provider_sid, Channel.SMS, phone, body, received_at)
    if inbound is None:
        return ReplyOutcome("duplicate: already handled", duplicate=True)
    person = session.exec(select(Person).where(Person.phone == phone)).first()
    parsed = parse_reply(body)
    if person is None:
        result = ReplyOutcome("unknown sender", understood=parsed.kind is not ReplyKind.UNKNOWN)
    else:
        result = _act(session, person, parsed, None, received_at, policy or DEFAULT_POLICY, voice=False)
    return _finish(session, inbound, result)


def record_keypress(
    session: Session,
    *,
    call_sid: str,
    digits: str,
    invitation_id: int,
    received_at: datetime | None = None,
    policy: EscalationPolicy | None = None,
) -> ReplyOutcome:
    """A voice Gather result: counts exactly like an SMS reply; idempotent on (call_sid, digits)."""
    received_at = ensure_aware(received_at or utcnow())
    invitation = session.get(Invitation, invitation_id)
    person = session.get(Person, invitation.person_id) if invitation else None
    inbound = _store(
        session, f"{call_sid}:{digits}"[:80], Channel.VOICE, person.phone if person else "", digits or "", received_at
    )
    if inbound is None:
        return ReplyOutcome("duplicate: already handled", duplicate=True)
    if person is None:
        return _finish(session, inbound, ReplyOutcome("no such invitation", understood=False))
    parsed = parse_reply((digits or "").strip()[:1])
    result = _act(session, person, parsed, invitation, received_at, policy or DEFAULT_POLICY, voice=True)
    return _finish(session, inbound, result)


def record_typed_reply(
    session: Session, *, from_phone: str, body: str, received_at: datetime | None = None,
    policy: EscalationPolicy | None = None,
) -> ReplyOutcome:
    """A reply typed by the coordinator on a worker's behalf (outbox mode, phone-only replies)."""
    return record_sms_reply(
        session, from_phone=from_phone, body=body, provider_sid=f"typed-{uuid.uuid4().hex}", received_at=received_at,
        policy=policy,
    )


def _phone(text: str) -> str:
    try:
        return normalise_phone(text)
    except PhoneError:
        return (text or "").strip()[:20]


def _store(session: Session, sid: str, channel: Channel, phone: str, body: str, at: datetime) -> InboundMessage | None:
    """Insert the inbound row first: its unique sid makes concurrent duplicates count once."""
    if session.exec(select(InboundMessage.id).where(InboundMessage.provider_sid == sid)).first() is not None:
        session.rollback()
        return None
    inbound = InboundMessage(provider_sid=sid, channel=channel.value, from_phone=phone[:20], body=(body or "")[:1600], received_at=at)
    session.add(inbound)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        session.rollback()
        return None
    return inbound


def _finish(session: Session, inbound: InboundMessage, result: ReplyOutcome) -> ReplyOutcome:
    inbound.invitation_id = result.invitation_id
    inbound.outcome = result.outcome[:200]
    inbound.understood = result.understood
    session.add(inbound)
    session.commit()
    return result


def _act(
    session: Session, person: Person, parsed: ParsedReply, invitation: Invitation | None, at: datetime,
    policy: EscalationPolicy, *, voice: bool,
) -> ReplyOutcome:
    if parsed.kind is ReplyKind.OPT_OUT:
        return _opt_out(session, person, at)
    if parsed.kind is ReplyKind.OPT_IN or parsed.opts_in:
        if person.sms_opt_out:
            person.sms_opt_out = False
            session.add(person)
        if parsed.kind is ReplyKind.OPT_IN:
            return ReplyOutcome("opted back in to SMS")
    if invitation is None:
        invitation = _target(session, person, parsed.code, at)
        if invitation is None and parsed.code is not None:  # a code that matches nothing: help, as if unreadable
            invitation = _target(session, person, None, at)
            parsed = ParsedReply(ReplyKind.UNKNOWN)
    if invitation is None:
        return ReplyOutcome("no open invitation for this sender", understood=parsed.is_answer)
    request = lock_request(session, invitation.request_id)
    invitation = session.get(Invitation, invitation.id, populate_existing=True)
    if not parsed.is_answer:
        return _help(session, person, invitation, request, at, send=not voice)
    if request.state != RequestState.OPEN.value:
        return _late(session, person, parsed, invitation, request, at)
    return _answer(session, person, parsed, invitation, request, at, policy)


def _target(session: Session, person: Person, code: str | None, at: datetime) -> Invitation | None:
    """The invitation a reply is about: by code, else the most recent open one, else a recent closed one."""
    query = (
        select(Invitation, QuorumRequest.state)
        .join(QuorumRequest, QuorumRequest.id == Invitation.request_id)
        .where(Invitation.person_id == person.id)
        .order_by((QuorumRequest.state == RequestState.OPEN.value).desc(), Invitation.created_at.desc(), Invitation.id.desc())
    )
    if code is not None:
        query = query.where(Invitation.code == code)
    found = session.exec(query.limit(1)).first()
    if found is None:
        return None
    invitation, state = found
    if state != RequestState.OPEN.value and invitation.created_at < at - LATE_REPLY_WINDOW:
        return None  # an answer to something long closed is not about it
    return invitation


def _answer(
    session: Session, person: Person, parsed: ParsedReply, invitation: Invitation, request: QuorumRequest, at: datetime,
    policy: EscalationPolicy,
) -> ReplyOutcome:
    new_state = InvitationState.JOINED if parsed.kind is ReplyKind.JOIN else InvitationState.DECLINED
    base = dict(invitation_id=invitation.id, request_id=request.id)
    if invitation.state == new_state.value:
        return ReplyOutcome(f"already {new_state.value}", **base)
    if invitation.state not in {s.value for s in ANSWERABLE_STATES}:
        # failed or stood down while the request is still open (e.g. the message bounced but arrived)
        if new_state is not InvitationState.JOINED or invitation.state != InvitationState.FAILED.value:
            return ReplyOutcome(f"ignored: invitation is {invitation.state}", **base)
    changed = invitation.state in (InvitationState.JOINED.value, InvitationState.DECLINED.value)
    invitation.state = new_state.value
    invitation.answered_at = at
    session.add(invitation)
    session.flush()
    verb = "joined" if new_state is InvitationState.JOINED else "declined"
    add_event(session, request.id, f"{first_name(person.name)} {verb}" + (" (changed their answer)" if changed else ""), at)
    joined, joined_metateam = counts(session, request.id)
    if joined >= request.need and joined_metateam >= request.need_metateam:
        form(session, request, at, policy)
        return ReplyOutcome("joined: quorum formed", formed=True, **base)
    return ReplyOutcome(verb + (" (changed answer)" if changed else ""), **base)


def _late(
    session: Session, person: Person, parsed: ParsedReply, invitation: Invitation, request: QuorumRequest, at: datetime
) -> ReplyOutcome:
    """An answer after the request closed: it does not count; a late join is thanked once."""
    base = dict(invitation_id=invitation.id, request_id=request.id)
    if parsed.kind is ReplyKind.DECLINE:
        if invitation.state == InvitationState.JOINED.value and request.state == RequestState.FORMED.value:
            invitation.state = InvitationState.DECLINED.value
            invitation.answered_at = at
            session.add(invitation)
            add_event(session, request.id, f"{first_name(person.name)} dropped out after the quorum formed", at)
            return ReplyOutcome("dropped out after forming", **base)
        return ReplyOutcome(f"late decline: request {request.state}", **base)
    if invitation.state == InvitationState.JOINED.value:
        return ReplyOutcome("already joined", **base)
    requester, case_reference = request_party(session, request)
    outcome = f"late join: request already {request.state}"
    thanked = session.exec(
        select(InboundMessage.id).where(InboundMessage.invitation_id == invitation.id, InboundMessage.outcome == outcome)
    ).first()
    if thanked is not None:
        return ReplyOutcome(outcome, **base)
    if request.state == RequestState.FORMED.value:
        text = messages.already_formed_sms(first_name(requester.name))
    else:
        text = messages.closed_sms(first_name(requester.name), case_reference, cancelled=request.state == RequestState.CANCELLED.value)
    _send(session, person, text, request, at)
    return ReplyOutcome(outcome, reply_text=None if person.sms_opt_out else text, **base)


def _help(
    session: Session, person: Person, invitation: Invitation, request: QuorumRequest, at: datetime, *, send: bool
) -> ReplyOutcome:
    """Keep an unparsed reply for the coordinator; send one help text per invitation."""
    base = dict(invitation_id=invitation.id, request_id=request.id, understood=False)
    add_event(session, request.id, f"Unparsed reply from {first_name(person.name)}", at)
    if not send or request.state != RequestState.OPEN.value or invitation.state not in {s.value for s in ANSWERABLE_STATES}:
        return ReplyOutcome("not understood", **base)
    claimed = session.execute(
        sa.update(Invitation).where(Invitation.id == invitation.id, Invitation.help_sent.is_(False)).values(help_sent=True)
    ).rowcount
    if not claimed:
        return ReplyOutcome("not understood (help already sent)", **base)
    requester, case_reference = request_party(session, request)
    text = messages.help_sms(first_name(requester.name), case_reference, invitation.code)
    _send(session, person, text, request, at)
    return ReplyOutcome("not understood: help sent", reply_text=text, **base)


def _opt_out(session: Session, person: Person, at: datetime) -> ReplyOutcome:
    """STOP: no more SMS; waiting invitations count as declined (requests locked first, as everywhere)."""
    waiting = session.exec(
        select(Invitation)
        .join(QuorumRequest, QuorumRequest.id == Invitation.request_id)
        .where(
            Invitation.person_id == person.id,
            QuorumRequest.state == RequestState.OPEN.value,
            Invitation.state.in_([s.value for s in PENDING_STATES]),
        )
    ).all()
    for request_id in sorted({i.request_id for i in waiting}):
        lock_request(session, request_id)
    person.sms_opt_out = True
    session.add(person)
    for invitation in waiting:
        session.refresh(invitation)
        if invitation.state not in {s.value for s in PENDING_STATES}:
            continue
        invitation.state = InvitationState.DECLINED.value
        invitation.answered_at = at
        invitation.error_text = "opted out of SMS (STOP)"
        session.add(invitation)
        add_event(session, invitation.request_id, f"{first_name(person.name)} opted out of SMS (STOP)", at)
    return ReplyOutcome("opted out of SMS", invitation_id=waiting[0].id if waiting else None)


def _send(session: Session, person: Person, text: str, request: QuorumRequest, at: datetime) -> None:
    if not person.sms_opt_out:
        queue_message(session, to_phone=person.phone, body=text, request_id=request.id, now=at)
