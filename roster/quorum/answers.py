"""What a reply does once its sender and target invitation are known (see :mod:`roster.quorum.handling`).

Every change happens under the request's lock: SQLite's ``BEGIN IMMEDIATE`` already
makes the transaction the only writer, so what was read stays true. PostgreSQL
share-locks the request row (``FOR SHARE``: it cannot be formed or closed meanwhile)
and locks the invitation (``FOR UPDATE``), re-reading both: replies to one request run
side by side instead of queueing behind each other's commits. Forming the quorum
needs the request to itself, so on PostgreSQL a join is committed first, then reads
whether the quorum is met (:func:`quorum_may_be_met`; the last of several simultaneous
joins to commit sees them all), and only then :func:`form_if_met` checks the count again
and forms it under ``FOR UPDATE``. The common answers touch only
the rows they change, with plain SQL statements run on the session's connection
(no ORM objects); on PostgreSQL an answer's new state and its event are written with
the stored reply, in one statement (:class:`reply_sql.ReplyWrites`). The usual answer, a join or
decline to an open request, needs no transaction around it on PostgreSQL: one statement
takes the same locks, writes only if the request is still open and the invitation as the
first read found it, and otherwise writes nothing (:func:`answer_at_once`); the reply then
takes the locked path.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.models import Person
from roster.quorum import messages
from roster.quorum.invite import quorum_met
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
from roster.quorum.policy import EscalationPolicy
from roster.quorum.replies import ParsedReply, ReplyKind
from roster.quorum.reply_sql import (
    ANSWER_STORED, AUTOCOMMIT, CLAIM_HELP, LATE_JOIN_PARTY, LOCK_TARGET, QUORUM_MET, TARGET, ReplyWrites,
    inbound_values,
)
from roster.quorum.store import REQUEST_PARTY, add_event, event_values, first_name, lock_request

ANSWERABLE = frozenset(s.value for s in ANSWERABLE_STATES)
#: The outcome of a late join, stored on its reply, before the request's state: it is thanked once.
LATE_JOIN = "late join: request already "
FORMED = "joined: quorum formed"
PENDING = frozenset(s.value for s in PENDING_STATES)

_inbound = InboundMessage.__table__
_LABEL_FORMED = sa.update(_inbound).where(_inbound.c.provider_sid == sa.bindparam("sid")).values(outcome=FORMED)


@dataclass(frozen=True)
class ReplyOutcome:
    """What a reply did. ``reply_text`` is the text queued back to the sender, for information;
    ``queued`` says whether the reply queued any message (so a webhook knows to deliver);
    ``check_quorum`` (PostgreSQL) that a join was recorded and its request must be formed if met,
    once it is committed (:func:`form_if_met`, called through ``handling.form_after_join``)."""

    outcome: str
    understood: bool = True
    reply_text: str | None = None
    invitation_id: int | None = None
    request_id: int | None = None
    formed: bool = False
    duplicate: bool = False
    queued: bool = False
    check_quorum: bool = False


@dataclass(frozen=True)
class Target:
    """The invitation a reply is about and the request it belongs to (the columns a reply needs)."""

    invitation_id: int
    invitation_state: str
    code: str
    request_id: int
    request_state: str
    need: int
    need_metateam: int
    requester_id: int
    case_id: int | None
    #: A late join to this invitation was thanked already (as a read found it: a thank is never undone).
    thanked: bool = False

    @classmethod
    def from_row(cls, row, *, thanked: bool = False) -> Target:
        return cls(row.invitation_id, row.invitation_state, row.code, row.request_id, row.request_state, row.need,
                   row.need_metateam, row.requester_id, row.case_id, thanked)


@dataclass(frozen=True)
class Sender:
    """The person a reply came from (the columns a reply needs)."""

    id: int
    name: str
    phone: str
    sms_opt_out: bool


def load_target(connection: sa.Connection, invitation_id: int) -> Target:
    """An invitation and its request, read now."""
    return Target.from_row(connection.execute(TARGET, {"invitation_id": invitation_id}).one())


def writes_nothing(parsed: ParsedReply, target: Target | None, *, sms_opt_out: bool) -> bool:
    """Whether :func:`act` would write nothing for this reply from a known sender (the caller then
    stores the reply alone): an answer with nothing to answer, or one that changes nothing. It
    follows ``act``'s own order: opting out or back in writes."""
    if parsed.kind in (ReplyKind.OPT_OUT, ReplyKind.OPT_IN) or (parsed.opts_in and sms_opt_out):
        return False
    return target is None or changes_nothing(parsed, target)


def answers_at_once(parsed: ParsedReply, target: Target | None) -> bool:
    """Whether :func:`answer_at_once` can take this reply: a join or decline, without an opt-in,
    to an open request's invitation that can take it and is not in that state already."""
    return (target is not None and parsed.is_answer and not parsed.opts_in
            and target.request_state == RequestState.OPEN.value and target.invitation_state in ANSWERABLE
            and target.invitation_state != _new_state(parsed).value)


def answer_at_once(connection: sa.Connection, sender: Sender, parsed: ParsedReply, target: Target, *,
                   provider_sid: str, phone: str, body: str, at: datetime) -> ReplyOutcome | None:
    """PostgreSQL: answer an open request's invitation (:func:`answers_at_once`) and store the reply
    in one statement on ``connection`` (autocommit: no ``BEGIN``, no locking read, no ``COMMIT``).

    It writes only if the request is still open and the invitation still as ``target`` found
    it; otherwise, or when a concurrent delivery stored the message, it writes nothing and
    returns None, and the caller takes the locked path (:func:`act`)."""
    new_state = _new_state(parsed)
    outcome, note = _wording(sender, new_state, target)
    stored = inbound_values(provider_sid=provider_sid, channel=Channel.SMS, phone=phone, body=body, at=at,
                            outcome=outcome, invitation_id=target.invitation_id)
    stored = connection.execute(ANSWER_STORED, {f"stored_{column}": value for column, value in stored.items()} | {
        "answer_request_id": target.request_id, "answer_invitation_id": target.invitation_id,
        "answer_expected_state": target.invitation_state, "answer_state": new_state.value,
        "answer_note": event_values(target.request_id, note, at)["text"],
    }).scalar()
    if stored is None:
        return None
    return ReplyOutcome(outcome, invitation_id=target.invitation_id, request_id=target.request_id,
                        check_quorum=new_state is InvitationState.JOINED)


def act(
    session: Session, writes: ReplyWrites, sender: Sender, parsed: ParsedReply, target: Target | None,
    at: datetime, policy: EscalationPolicy, *, voice: bool,
) -> ReplyOutcome:
    """Apply a parsed reply from ``sender`` about ``target`` (None: they have no invitation to answer).

    ``writes.connection`` is the session's own (``session.connection()``): plain statements run on
    it; the caller then stores the reply through ``writes`` (:meth:`ReplyWrites.store_reply`).
    """
    connection = writes.connection
    if parsed.kind is ReplyKind.OPT_OUT:
        return _opt_out(session, sender, at)
    if parsed.kind is ReplyKind.OPT_IN or parsed.opts_in:
        if sender.sms_opt_out:
            person = session.get(Person, sender.id)
            person.sms_opt_out = False
            session.add(person)
            sender = Sender(sender.id, sender.name, sender.phone, False)
        if parsed.kind is ReplyKind.OPT_IN:
            return ReplyOutcome("opted back in to SMS")
    if target is None:
        return ReplyOutcome("no open invitation for this sender", understood=parsed.is_answer)
    if connection.dialect.name == "postgresql" and not changes_nothing(parsed, target):
        # another reply may have changed the invitation or formed the quorum since the first read
        target = Target.from_row(connection.execute(LOCK_TARGET, {"invitation_id": target.invitation_id}).one())
    if not parsed.is_answer:
        return _help(writes, sender, target, at, send=not voice)
    if target.request_state != RequestState.OPEN.value:
        return _late(writes, sender, parsed, target, at)
    return _answer(session, writes, sender, parsed, target, at, policy)


def form_if_met(session: Session, outcome: ReplyOutcome, provider_sid: str, at: datetime,
                policy: EscalationPolicy) -> ReplyOutcome:
    """After a join was committed and found to meet the quorum (``outcome.check_quorum``,
    PostgreSQL; see :func:`quorum_may_be_met`): form its request if it still is open and met,
    under the request's ``FOR UPDATE`` lock; commits.

    Returns the outcome, "joined: quorum formed" (also on the stored reply ``provider_sid``)
    when this reply formed it. Joins to one request commit side by side; whichever commits
    last finds every one of them when it reads after its commit, so a met quorum is never left unformed.
    """
    unchecked = replace(outcome, check_quorum=False)
    request = lock_request(session, outcome.request_id)
    still_open = request.state == RequestState.OPEN.value
    if not (still_open and quorum_met(session, request.id, request.need, request.need_metateam)):
        session.commit()  # another join formed it meanwhile
        return unchecked
    form(session, request, at, policy)
    session.connection().execute(_LABEL_FORMED, {"sid": provider_sid})
    session.commit()
    return replace(unchecked, outcome=FORMED, formed=True, queued=True)


def quorum_may_be_met(session: Session, request_id: int) -> bool:
    """Whether the request is open and its committed joiners meet what it needs: one read
    outside any transaction, so a join that does not meet it takes no lock (:func:`form_if_met`
    checks again under the lock)."""
    reading = session.connection(execution_options=AUTOCOMMIT)  # one round trip, no BEGIN
    met = reading.execute(QUORUM_MET, {"request_id": request_id}).first() is not None
    session.commit()
    return met


def changes_nothing(parsed: ParsedReply, target: Target) -> bool:
    """An answer that, as things stand, only gets recorded: the same answer again, a late join
    thanked before, or a late decline that is not a drop-out. It needs no lock: should the
    invitation change meanwhile, the reply simply counts as having come first."""
    if not parsed.is_answer:
        return False
    joined = target.invitation_state == InvitationState.JOINED.value
    if parsed.kind is ReplyKind.JOIN:
        return joined or target.thanked  # already in (open or closed), or a late join thanked before
    if target.request_state == RequestState.OPEN.value:
        return target.invitation_state == InvitationState.DECLINED.value
    return not (joined and target.request_state == RequestState.FORMED.value)  # a late decline, not a drop-out


def _answer(session: Session, writes: ReplyWrites, sender: Sender, parsed: ParsedReply, target: Target,
            at: datetime, policy: EscalationPolicy) -> ReplyOutcome:
    new_state = _new_state(parsed)
    base = dict(invitation_id=target.invitation_id, request_id=target.request_id)
    if target.invitation_state == new_state.value:
        return ReplyOutcome(f"already {new_state.value}", **base)
    if target.invitation_state not in ANSWERABLE:
        # failed or stood down while the request is still open (e.g. the message bounced but arrived)
        if new_state is not InvitationState.JOINED or target.invitation_state != InvitationState.FAILED.value:
            return ReplyOutcome(f"ignored: invitation is {target.invitation_state}", **base)
    outcome, note = _wording(sender, new_state, target)
    writes.set_state(target.invitation_id, new_state, at)
    writes.note(target.request_id, note, at)
    if new_state is InvitationState.JOINED:
        if writes.connection.dialect.name == "postgresql":  # the request is only share-locked: form it after commit
            return ReplyOutcome(outcome, check_quorum=True, **base)
        if quorum_met(session, target.request_id, target.need, target.need_metateam):
            form(session, lock_request(session, target.request_id), at, policy)
            return ReplyOutcome(FORMED, formed=True, queued=True, **base)
    return ReplyOutcome(outcome, **base)


def _new_state(parsed: ParsedReply) -> InvitationState:
    return InvitationState.JOINED if parsed.kind is ReplyKind.JOIN else InvitationState.DECLINED


def _wording(sender: Sender, new_state: InvitationState, target: Target) -> tuple[str, str]:
    """The outcome stored on an answer that moves its invitation to ``new_state``, and the request's event text."""
    verb = "joined" if new_state is InvitationState.JOINED else "declined"
    changed = target.invitation_state in (InvitationState.JOINED.value, InvitationState.DECLINED.value)
    return (verb + (" (changed answer)" if changed else ""),
            f"{first_name(sender.name)} {verb}" + (" (changed their answer)" if changed else ""))


def _late(writes: ReplyWrites, sender: Sender, parsed: ParsedReply, target: Target, at: datetime) -> ReplyOutcome:
    """An answer after the request closed: it does not count; a late join is thanked once."""
    base = dict(invitation_id=target.invitation_id, request_id=target.request_id)
    if parsed.kind is ReplyKind.DECLINE:
        joined = target.invitation_state == InvitationState.JOINED.value
        if joined and target.request_state == RequestState.FORMED.value:
            writes.set_state(target.invitation_id, InvitationState.DECLINED, at)
            writes.note(target.request_id, f"{first_name(sender.name)} dropped out after the quorum formed", at)
            return ReplyOutcome("dropped out after forming", **base)
        return ReplyOutcome(f"late decline: request {target.request_state}", **base)
    if target.invitation_state == InvitationState.JOINED.value:
        return ReplyOutcome("already joined", **base)
    outcome = LATE_JOIN + target.request_state
    if target.thanked:
        return ReplyOutcome(outcome, **base)
    party = writes.connection.execute(LATE_JOIN_PARTY, {
        "invitation_id": target.invitation_id, "outcome": outcome, "case_id": target.case_id,
        "requester_id": target.requester_id}).one()
    if party.thanked:
        return ReplyOutcome(outcome, **base)
    requester = first_name(party.name)
    if target.request_state == RequestState.FORMED.value:
        text = messages.already_formed_sms(requester)
    else:
        cancelled = target.request_state == RequestState.CANCELLED.value
        text = messages.closed_sms(requester, party.reference, cancelled=cancelled)
    sent = _send(writes, sender, text, target.request_id, at)
    return ReplyOutcome(outcome, reply_text=text if sent else None, queued=sent, **base)


def _help(writes: ReplyWrites, sender: Sender, target: Target, at: datetime, *, send: bool) -> ReplyOutcome:
    """Keep an unparsed reply for the coordinator; send one help text per invitation."""
    base = dict(invitation_id=target.invitation_id, request_id=target.request_id, understood=False)
    writes.note(target.request_id, f"Unparsed reply from {first_name(sender.name)}", at)
    if not send or target.request_state != RequestState.OPEN.value or target.invitation_state not in ANSWERABLE:
        return ReplyOutcome("not understood", **base)
    claimed = writes.connection.execute(CLAIM_HELP, {"invitation_id": target.invitation_id}).rowcount
    if not claimed:
        return ReplyOutcome("not understood (help already sent)", **base)
    requester, case_reference = _party(writes.connection, target)
    text = messages.help_sms(requester, case_reference, target.code)
    sent = _send(writes, sender, text, target.request_id, at)
    return ReplyOutcome("not understood: help sent", reply_text=text, queued=sent, **base)


def _opt_out(session: Session, sender: Sender, at: datetime) -> ReplyOutcome:
    """STOP: no more SMS; waiting invitations count as declined (requests locked first, as everywhere)."""
    waiting = session.exec(
        select(Invitation)
        .join(QuorumRequest, QuorumRequest.id == Invitation.request_id)
        .where(
            Invitation.person_id == sender.id,
            QuorumRequest.state == RequestState.OPEN.value,
            Invitation.state.in_(sorted(PENDING)),
        )
    ).all()
    for request_id in sorted({i.request_id for i in waiting}):
        lock_request(session, request_id)
    person = session.get(Person, sender.id)
    person.sms_opt_out = True
    session.add(person)
    for invitation in waiting:
        session.refresh(invitation)
        if invitation.state not in PENDING:
            continue
        invitation.state = InvitationState.DECLINED.value
        invitation.answered_at = at
        invitation.error_text = "opted out of SMS (STOP)"
        session.add(invitation)
        add_event(session, invitation.request_id, f"{first_name(sender.name)} opted out of SMS (STOP)", at)
    return ReplyOutcome("opted out of SMS", invitation_id=waiting[0].id if waiting else None)


def _party(connection: sa.Connection, target: Target) -> tuple[str, str | None]:
    """The requester's first name and the case reference, in one query."""
    row = connection.execute(REQUEST_PARTY, {"case_id": target.case_id, "requester_id": target.requester_id}).one()
    return first_name(row.name), row.reference


def _send(writes: ReplyWrites, sender: Sender, text: str, request_id: int, at: datetime) -> bool:
    """Queue ``text`` to the sender unless they opted out; True when queued."""
    if sender.sms_opt_out:
        return False
    writes.queue_text(sender.phone, text, request_id, at)
    return True
