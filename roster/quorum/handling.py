"""Replies from workers (SMS, keypresses, or typed on their behalf) and what they change.

One handler for every way a reply arrives, idempotent on Twilio's MessageSid /
CallSid: a duplicate webhook delivery counts once. Rules (issue 3):

- a bare answer goes to the sender's most recent open invitation; a code picks one;
- a later answer replaces an earlier one while the request is open;
- when the quorum is met, joiners are confirmed and the rest stood down; a late
  ``1`` gets "already formed, thanks" and does not count;
- unparseable replies are kept for the coordinator and get one help reply per
  invitation (no SMS loops); ``STOP`` opts out, ``START`` opts back in.

The reply webhook must keep up with bursts (issue 5: 200 a second), so a reply runs
a few plain SQL statements on the rows it needs, not ORM loads of whole requests:
one query reads whether the MessageSid was seen, the sender, their target invitation
and its request; then the change (see :mod:`roster.quorum.answers`); last, the inbound
row with its outcome. Its unique MessageSid settles a race between two deliveries of
one message (PostgreSQL): the second insert waits for the first transaction, finds
the row, and its own transaction is rolled back.

On PostgreSQL the first read runs outside a transaction (autocommit; unless the caller's
session is in one already), and so does the store of a reply that changes nothing else (a
duplicate, a repeated or late answer, an unknown sender): one statement is its own
transaction, and at READ COMMITTED a transaction around a read and one write guarantees
nothing more. That saves the BEGIN and
COMMIT round trips of most replies once a burst of answers is over. So does a join or
decline that changes its invitation, as the first read found it, while the request is open:
one statement locks, checks that nothing changed since the read, and writes
(:func:`answers.answer_at_once`). Any other reply that changes something, or one whose read
went stale, opens a transaction and locks what it changes (:func:`answers.act`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from roster.models import Person
from roster.phones import PhoneError, normalise_phone
from roster.quorum.answers import (
    LATE_JOIN, ReplyOutcome, Sender, Target, act, answer_at_once, answers_at_once, form_if_met, load_target,
    quorum_may_be_met, writes_nothing,
)
from roster.quorum.models import Channel, InboundMessage, Invitation, QuorumRequest, RequestState
from roster.quorum.policy import DEFAULT_POLICY, EscalationPolicy
from roster.quorum.replies import ParsedReply, ReplyKind, parse_reply
from roster.quorum.reply_sql import AUTOCOMMIT, TARGET_COLUMNS, ReplyWrites, inbound_values, thanked
from roster.timeutil import ensure_aware, utcnow

__all__ = [
    "LATE_REPLY_WINDOW", "TYPED_PREFIX", "ReplyOutcome", "SmsReply", "record_keypress", "record_sms_replies", "record_sms_reply",
    "record_typed_reply",
]

LATE_REPLY_WINDOW = timedelta(hours=12)
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
DUPLICATE = ReplyOutcome("duplicate: already handled", duplicate=True)
#: Replies typed in the dashboard on someone's behalf are stored under ``typed-<random>``.
TYPED_PREFIX = "typed-"

_person = Person.__table__
_invitation = Invitation.__table__
_request = QuorumRequest.__table__
_inbound = InboundMessage.__table__


def _target_query(by_code: bool) -> sa.Select:
    """The invitation a person's reply is about, with its request (correlated to ``person``;
    parameters ``since`` and ``code``): by code when the reply names one, else the most recent
    invitation of an open request, else a recently closed one."""
    query = (
        sa.select(*TARGET_COLUMNS)
        .join_from(_invitation, _request, _request.c.id == _invitation.c.request_id)
        .where(
            _invitation.c.person_id == _person.c.id,
            sa.or_(_request.c.state == RequestState.OPEN.value, _invitation.c.created_at >= sa.bindparam("since")),
        )
        .order_by((_request.c.state == RequestState.OPEN.value).desc(), _invitation.c.created_at.desc(),
                  _invitation.c.id.desc())
        .limit(1)
    )
    if by_code:
        query = query.where(_invitation.c.code == sa.bindparam("code"))
    return query


# Statements built once (the webhook runs them hundreds of times a second).
_SEEN = sa.exists().where(_inbound.c.provider_sid == sa.bindparam("sid"))
_SENDER = (_person.c.id, _person.c.name, _person.c.phone, _person.c.sms_opt_out)
_seen = sa.select(_SEEN.label("seen")).subquery("seen_before")


def _sender_and_target_query(by_code: bool, lateral: bool) -> sa.Select:
    """One row whatever the phone: was the sid seen, and the person (None if unknown) with their target;
    on PostgreSQL also whether a late join to that target was thanked already (``thanked``: it
    decides whether the reply needs a transaction; SQLite's batches do not ask).

    PostgreSQL reads the target as a ``LATERAL`` subquery: the sender's few invitations by
    index. Joined on ``invitation.id = (subquery)`` instead, its planner may hash every
    invitation for each reply. SQLite has no ``LATERAL`` and looks the id up by rowid.
    """
    sender = _seen.outerjoin(_person, _person.c.phone == sa.bindparam("phone"))
    if lateral:
        target = _target_query(by_code).lateral("target")
        late_join_thanked = thanked(target.c.invitation_id, sa.literal(LATE_JOIN) + target.c.request_state)
        return (sa.select(_seen.c.seen, *_SENDER, *target.c, late_join_thanked.label("thanked"))
                .select_from(sender.outerjoin(target, sa.true())))
    target_id = _target_query(by_code).with_only_columns(_invitation.c.id).scalar_subquery()
    return (
        sa.select(_seen.c.seen, *_SENDER, *TARGET_COLUMNS, sa.false().label("thanked"))
        .select_from(
            sender.outerjoin(_invitation, _invitation.c.id == target_id)
            .outerjoin(_request, _request.c.id == _invitation.c.request_id)
        )
        .limit(1)
    )


_SENDER_AND_TARGET = {
    (lateral, by_code): _sender_and_target_query(by_code, lateral) for lateral in (False, True) for by_code in (False, True)
}
_SENDER_OF_INVITATION = sa.select(*_SENDER, _SEEN.label("seen")).join(
    _invitation, _invitation.c.person_id == _person.c.id).where(_invitation.c.id == sa.bindparam("invitation_id"))


@dataclass(frozen=True)
class SmsReply:
    """An SMS to our number, as Twilio reports it."""

    from_phone: str
    body: str
    provider_sid: str
    received_at: datetime | None = None


class ConcurrentDuplicate(Exception):
    """Another transaction stored the same message first (PostgreSQL): roll this one back."""


def record_sms_reply(
    session: Session,
    *,
    from_phone: str,
    body: str,
    provider_sid: str,
    received_at: datetime | None = None,
    policy: EscalationPolicy | None = None,
    form_quorum: bool = True,
) -> ReplyOutcome:
    """Record and act on an SMS reply (idempotent on ``provider_sid``); commits.

    With ``form_quorum=False`` a join that may have met the quorum (PostgreSQL) comes back
    committed with ``check_quorum`` set, and the caller calls :func:`form_after_join` itself
    (a server does so after answering Twilio, so its answer never waits for the forming)."""
    policy = policy or DEFAULT_POLICY
    received_at = ensure_aware(received_at or utcnow())
    try:
        outside = session.get_bind().dialect.name == "postgresql" and not session.in_transaction()
        result = _handle_sms(session, SmsReply(from_phone, body, provider_sid, received_at), policy,
                             read_outside_transaction=outside)
    except ConcurrentDuplicate:
        session.rollback()
        result = DUPLICATE
    return _finish(session, result, provider_sid, received_at, policy, form_quorum)


def record_sms_replies(
    session: Session, replies: Sequence[SmsReply], *, policy: EscalationPolicy | None = None
) -> list[ReplyOutcome]:
    """Several SMS replies in one transaction and one commit (a busy server's batch, on SQLite).

    Each counts exactly as :func:`record_sms_reply` would, in order (a repeated
    MessageSid in the batch is a duplicate). Raises if any fails, with nothing
    committed: the caller then records them one by one.
    """
    policy = policy or DEFAULT_POLICY
    results = [_handle_sms(session, reply, policy) for reply in replies]
    session.commit()
    return [form_after_join(session, _checked(session, result), provider_sid=reply.provider_sid,
                            received_at=reply.received_at or utcnow(), policy=policy)
            for reply, result in zip(replies, results, strict=True)]


def _finish(session: Session, result: ReplyOutcome, sid: str, at: datetime, policy: EscalationPolicy,
            form_quorum: bool = True) -> ReplyOutcome:
    """Commit the reply, then form its request if a join may have met the quorum (unless the
    caller does that itself: ``form_quorum=False``; then only a join after which the committed
    joiners meet the quorum comes back with ``check_quorum`` set)."""
    # A duplicate wrote nothing (a concurrent one was rolled back already); it commits too, as a
    # ROLLBACK would drop the connection's prepared statements (psycopg).
    session.commit()
    if result.duplicate:
        return result
    result = _checked(session, result)
    return form_after_join(session, result, provider_sid=sid, received_at=at, policy=policy) if form_quorum else result


def _checked(session: Session, result: ReplyOutcome) -> ReplyOutcome:
    """A committed join keeps ``check_quorum`` only if its request's committed joiners now meet the
    quorum (read after its own commit: of joins committed side by side, the last sees them all)."""
    if result.check_quorum and not quorum_may_be_met(session, result.request_id):
        return replace(result, check_quorum=False)  # not yet: a later join will form it
    return result


def form_after_join(session: Session, outcome: ReplyOutcome, *, provider_sid: str, received_at: datetime,
                    policy: EscalationPolicy | None = None) -> ReplyOutcome:
    """The second step of a join (PostgreSQL; see ``form_quorum``): form its request if the
    quorum is now met (commits). Returns the outcome, "joined: quorum formed" if this join formed it.
    Should this step never run (the process died), the escalation clock forms the request on
    its next turn."""
    if not outcome.check_quorum:
        return outcome
    return form_if_met(session, outcome, provider_sid, ensure_aware(received_at), policy or DEFAULT_POLICY)


def keypress_sid(call_sid: str, digits: str) -> str:
    """The id a keypress is stored under (one per call and key: Twilio's retries count once)."""
    return f"{call_sid}:{digits}"[:80]


def warm_up(session: Session) -> None:
    """Handle a made-up reply from nobody and roll it back, so the first real one finds its
    SQL compiled (a server calls this as it starts)."""
    _handle_sms(session, SmsReply("+10000000000", "1", "warm-up", utcnow()), DEFAULT_POLICY)
    session.rollback()


def _handle_sms(session: Session, reply: SmsReply, policy: EscalationPolicy, *,
                read_outside_transaction: bool = False) -> ReplyOutcome:
    """Act on one reply and store it (nothing is done for a duplicate): in the session's
    transaction, or with ``read_outside_transaction`` (PostgreSQL) as the module says."""
    received_at = ensure_aware(reply.received_at or utcnow())
    phone = _phone(reply.from_phone)
    parsed = parse_reply(reply.body)
    connection = session.connection(execution_options=AUTOCOMMIT if read_outside_transaction else None)
    row = _sender_and_target(connection, reply.provider_sid, phone, parsed, received_at)
    if row.seen:
        return DUPLICATE
    if row.id is not None and row.invitation_id is None and parsed.code is not None:
        parsed = ParsedReply(ReplyKind.UNKNOWN)  # a code that matches nothing: help, as if unreadable
        row = _sender_and_target(connection, reply.provider_sid, phone, parsed, received_at)
    target = Target.from_row(row, thanked=row.thanked) if row.invitation_id is not None else None
    if read_outside_transaction and row.id is not None and answers_at_once(parsed, target):
        sender = Sender(row.id, row.name, row.phone, row.sms_opt_out)
        result = answer_at_once(connection, sender, parsed, target, provider_sid=reply.provider_sid, phone=phone,
                                body=reply.body, at=received_at)
        if result is not None:
            return result
    if read_outside_transaction and not (row.id is None or writes_nothing(parsed, target, sms_opt_out=row.sms_opt_out)):
        session.commit()  # ends the autocommit read (no round trip); what follows runs in a transaction
        connection = session.connection()
    writes = ReplyWrites(session, connection)
    if row.id is None:
        result = ReplyOutcome("unknown sender", understood=parsed.kind is not ReplyKind.UNKNOWN)
    else:
        sender = Sender(row.id, row.name, row.phone, row.sms_opt_out)
        result = act(session, writes, sender, parsed, target, received_at, policy, voice=False)
    _store(writes, reply.provider_sid, Channel.SMS, phone, reply.body, received_at, result)
    return result


def record_keypress(
    session: Session,
    *,
    call_sid: str,
    digits: str,
    invitation_id: int,
    received_at: datetime | None = None,
    policy: EscalationPolicy | None = None,
    form_quorum: bool = True,
) -> ReplyOutcome:
    """A voice Gather result: counts exactly like an SMS reply; idempotent on (call_sid, digits).
    ``form_quorum`` as for :func:`record_sms_reply` (the stored id is :func:`keypress_sid`)."""
    received_at = ensure_aware(received_at or utcnow())
    sid = keypress_sid(call_sid, digits)
    connection = session.connection()
    writes = ReplyWrites(session, connection)
    row = connection.execute(_SENDER_OF_INVITATION, {"sid": sid, "invitation_id": invitation_id}).first()
    try:
        if row is None:
            result = ReplyOutcome("no such invitation", understood=False)
            _store(writes, sid, Channel.VOICE, "", digits, received_at, result)
        elif row.seen:
            result = DUPLICATE
        else:
            sender = Sender(row.id, row.name, row.phone, row.sms_opt_out)
            parsed = parse_reply((digits or "").strip()[:1])
            target = load_target(connection, invitation_id)
            result = act(session, writes, sender, parsed, target, received_at, policy or DEFAULT_POLICY, voice=True)
            _store(writes, sid, Channel.VOICE, sender.phone, digits, received_at, result)
    except ConcurrentDuplicate:
        session.rollback()
        result = DUPLICATE
    return _finish(session, result, sid, received_at, policy or DEFAULT_POLICY, form_quorum)


def record_typed_reply(
    session: Session, *, from_phone: str, body: str, received_at: datetime | None = None,
    policy: EscalationPolicy | None = None,
) -> ReplyOutcome:
    """A reply typed by the coordinator on a worker's behalf (outbox mode, phone-only replies)."""
    return record_sms_reply(
        session, from_phone=from_phone, body=body, provider_sid=f"{TYPED_PREFIX}{uuid.uuid4().hex}", received_at=received_at,
        policy=policy,
    )


def _phone(text: str) -> str:
    """E.164 (what Twilio sends, and what ``Person.phone`` holds) as is; anything else normalised."""
    text = (text or "").strip()
    if E164.fullmatch(text):
        return text
    try:
        return normalise_phone(text)
    except PhoneError:
        return text[:20]


def _store(writes: ReplyWrites, sid: str, channel: Channel, phone: str, body: str, at: datetime,
           result: ReplyOutcome) -> None:
    """Keep the inbound message with what it did (and what ``writes`` holds); raises
    ConcurrentDuplicate when a concurrent delivery of the same message got there first (its
    insert waits for that transaction)."""
    inbound_id = writes.store_reply(inbound_values(
        provider_sid=sid, channel=channel, phone=phone, body=body, at=at, outcome=result.outcome,
        invitation_id=result.invitation_id, understood=result.understood))
    if inbound_id is None:
        raise ConcurrentDuplicate(sid)


def _sender_and_target(connection: sa.Connection, sid: str, phone: str, parsed: ParsedReply, at: datetime):
    """One row: whether ``sid`` was seen, the person with this phone (``id`` None when nobody has
    it) and the invitation their reply is about, with its request.

    The target: by code when the reply names one, else the most recent invitation of an
    open request, else a recently closed one (an answer to something long closed is
    about nothing).
    """
    parameters = {"sid": sid, "phone": phone, "since": at - LATE_REPLY_WINDOW, "code": parsed.code}
    lateral = connection.dialect.name == "postgresql"
    return connection.execute(_SENDER_AND_TARGET[lateral, parsed.code is not None], parameters).first()
