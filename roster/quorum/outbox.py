"""The send queue as notify sees it: claim, mark sent/failed/outbox, delivery status.

notify only moves bytes; every decision (which invitation failed, who replaces it)
is taken here, in the database, so several senders can run at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.db import reading
from roster.models import Person
from roster.quorum.invite import replace
from roster.quorum.models import (
    PENDING_STATES,
    EarlyStatus,
    Invitation,
    InvitationState,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    QuorumRequest,
)
from roster.quorum.store import add_event, first_name, forget_loaded, lock_request
from roster.timeutil import ensure_aware, utcnow

CLAIM_TIMEOUT = timedelta(minutes=2)
EARLY_STATUS_KEPT = timedelta(days=1)
OPTED_OUT_CODE = "21610"

TWILIO_ERRORS = {
    "21211": "not a valid phone number",
    "21214": "this number cannot be reached",
    "21217": "not a valid phone number",
    "21408": "SMS to this country is not enabled on the Twilio account",
    "21608": "a trial Twilio account can only text verified numbers",
    "21610": "this number has opted out (they texted STOP)",
    "21612": "this number cannot receive SMS from our number",
    "21614": "not a mobile number (cannot receive SMS)",
    "21617": "the message was too long",
    "20003": "Twilio refused our credentials (check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)",
    "20429": "Twilio is rate-limiting us; it will be retried",
    "30001": "Twilio's queue was full; try again",
    "30002": "the Twilio account is suspended",
    "30003": "phone unreachable (switched off or no signal)",
    "30004": "message blocked by the recipient or their network",
    "30005": "unknown number: the phone may no longer exist",
    "30006": "landline or unreachable network (cannot receive SMS)",
    "30007": "the network filtered the message as spam",
    "30008": "delivery failed for an unknown reason",
    "30034": "our sender number is not registered for this traffic",
    "13223": "not a valid phone number for calls",
    "13224": "this number cannot be called",
    "13227": "calls to this country are not enabled on the Twilio account",
    "busy": "the line was busy",
    "no-answer": "the call was not answered",
    "canceled": "the call was cancelled",
    "failed": "the call could not be connected",
}

_STATUS_RANK = {
    MessageStatus.QUEUED.value: 0,
    MessageStatus.SENDING.value: 1,
    MessageStatus.OUTBOX.value: 2,
    MessageStatus.SENT.value: 2,
    MessageStatus.DELIVERED.value: 3,
    MessageStatus.FAILED.value: 3,
}
_TWILIO_STATUS = {
    "accepted": MessageStatus.SENDING,
    "scheduled": MessageStatus.SENDING,
    "queued": MessageStatus.SENDING,
    "sending": MessageStatus.SENDING,
    "initiated": MessageStatus.SENT,
    "ringing": MessageStatus.SENT,
    "in-progress": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "completed": MessageStatus.DELIVERED,
    "answered": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
    "busy": MessageStatus.FAILED,
    "no-answer": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}


_outbound = OutboundMessage.__table__
_invitation = Invitation.__table__
_MARK_SENT = (
    sa.update(_outbound)
    .where(_outbound.c.id == sa.bindparam("message_id"),  # executemany: no IN lists
           sa.or_(_outbound.c.status == MessageStatus.QUEUED.value, _outbound.c.status == MessageStatus.SENDING.value))
    .values(status=MessageStatus.SENT.value, provider_sid=sa.bindparam("sid"), sent_at=sa.bindparam("sent_at_now"))
)
#: SMS invitations whose message went out count as sent (never moved back, never past an answer).
_INVITATIONS_SENT = (
    sa.update(_invitation)
    .where(
        _invitation.c.state == InvitationState.QUEUED.value,
        _invitation.c.id.in_(
            sa.select(_outbound.c.invitation_id).where(
                _outbound.c.id.in_(sa.bindparam("ids", expanding=True)), _outbound.c.kind == MessageKind.SMS.value)
        ),
    )
    .values(state=InvitationState.SENT.value)
)
#: PostgreSQL: transaction locks on provider ids (in the order given: callers sort them).
_LOCK_SIDS = sa.text("SELECT count(pg_advisory_xact_lock(hashtextextended(sid, 0))) FROM unnest(CAST(:sids AS text[])) AS sid")
#: PostgreSQL: lock the requests of the messages whose invitations marking them may change (an
#: invitation's own message), before those invitations, as every writer does. Texts without an
#: invitation (confirmations, stand-downs, thanks) change no invitation: their requests stay free
#: for the replies pouring in while they are sent.
_LOCK_REQUESTS_OF = (
    sa.select(QuorumRequest.__table__.c.id)
    .where(QuorumRequest.__table__.c.id.in_(
        sa.select(_outbound.c.request_id).where(_outbound.c.id.in_(sa.bindparam("ids", expanding=True)),
                                                _outbound.c.invitation_id.is_not(None))))
    .order_by(QuorumRequest.__table__.c.id)
    .with_for_update()
)
#: The same for every message of the batch (a kept status callback may fail any of them).
_LOCK_ALL_REQUESTS_OF = (
    sa.select(QuorumRequest.__table__.c.id)
    .where(QuorumRequest.__table__.c.id.in_(
        sa.select(_outbound.c.request_id).where(_outbound.c.id.in_(sa.bindparam("ids", expanding=True)))))
    .order_by(QuorumRequest.__table__.c.id)
    .with_for_update()
)


def describe_twilio_error(code: object) -> str:
    """A Twilio error code (or failed call status) in words a coordinator can act on."""
    text = str(code).strip() if code is not None else ""
    if not text:
        return "delivery failed"
    return TWILIO_ERRORS.get(text, f"Twilio error {text}")


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    """Messages a sender may claim at ``now``: queued, or left in ``sending`` past the claim timeout."""
    return sa.or_(
        OutboundMessage.status == MessageStatus.QUEUED.value,
        sa.and_(OutboundMessage.status == MessageStatus.SENDING.value, OutboundMessage.claimed_at < now - CLAIM_TIMEOUT),
    )


def anything_to_claim(session: Session, *, now: datetime | None = None) -> bool:
    """Whether :func:`claim_outbound` would find a message now: one read, no locks (on SQLite no
    writer's lock either), so a sender with nothing to do does not queue behind the writers."""
    claimable = _claimable(ensure_aware(now or utcnow()))
    with reading(session) as connection:
        return connection.execute(sa.select(sa.exists().where(claimable))).scalar()


def claim_outbound(session: Session, *, worker: str, limit: int = 100, now: datetime | None = None) -> list[sa.Row]:
    """Atomically move up to ``limit`` queued messages to ``sending`` for ``worker`` (oldest
    first), and return them by id: rows with :class:`OutboundMessage`'s columns, in one
    statement and no objects loaded (a burst of texts is claimed while replies pour in).

    Rows left in ``sending`` for more than two minutes (a sender died) are claimed
    again. PostgreSQL skips rows another sender has locked; SQLite's ``BEGIN
    IMMEDIATE`` already lets one claimer in at a time.
    """
    now = ensure_aware(now or utcnow())
    chosen = (select(OutboundMessage.id).where(_claimable(now)).order_by(OutboundMessage.id).limit(limit)
              .with_for_update(skip_locked=True))
    table = OutboundMessage.__table__
    claimed = session.connection().execute(
        sa.update(table).where(table.c.id.in_(chosen))
        .values(status=MessageStatus.SENDING.value, claimed_by=worker[:80], claimed_at=now)
        .returning(*table.c)
    ).all()
    forget_loaded(session, OutboundMessage)
    session.commit()
    return sorted(claimed, key=lambda message: message.id)


def mark_sent(session: Session, message_id: int, provider_sid: str | None, *, now: datetime | None = None) -> None:
    """The provider accepted the message; its invitation (if any) counts as sent."""
    mark_sent_many(session, [(message_id, provider_sid)], now=now)


def mark_sent_many(session: Session, sent: Iterable[tuple[int, str | None]], *, now: datetime | None = None) -> None:
    """Many accepted messages at once: (message id, provider id) pairs, in a few statements; commits.

    A status callback that arrived before this (kept in :class:`EarlyStatus`) is applied now.
    """
    now = ensure_aware(now or utcnow())
    rows = [{"message_id": message_id, "sid": sid, "sent_at_now": now} for message_id, sid in sent]
    if not rows:
        return
    sids = sorted(row["sid"] for row in rows if row["sid"])
    ids = [row["message_id"] for row in rows]
    _lock_sids(session, sids)
    early = _early_statuses(session, sids)
    connection = session.connection()
    if connection.dialect.name == "postgresql":  # requests first, then invitations, as every writer does
        connection.execute(_LOCK_ALL_REQUESTS_OF if early else _LOCK_REQUESTS_OF, {"ids": ids})
    connection.execute(_MARK_SENT, rows)
    connection.execute(_INVITATIONS_SENT, {"ids": ids})
    forget_loaded(session, Invitation, OutboundMessage)
    _apply_early_statuses(session, early, now)
    session.commit()


def mark_outbox(session: Session, message_ids: Iterable[int], *, now: datetime | None = None) -> None:
    """Outbox mode (no Twilio credentials): the messages wait in the dashboard for a person to pass on."""
    now = ensure_aware(now or utcnow())
    ids = list(message_ids)
    if not ids:
        return
    session.execute(
        sa.update(OutboundMessage)
        .where(OutboundMessage.id.in_(ids), OutboundMessage.status.in_([MessageStatus.QUEUED.value, MessageStatus.SENDING.value]))
        .values(status=MessageStatus.OUTBOX.value, sent_at=now)
    )
    session.connection().execute(_INVITATIONS_SENT, {"ids": ids})
    forget_loaded(session, Invitation)
    session.commit()


def mark_failed(
    session: Session, message_id: int, error_code: object, error_text: str | None = None, *, now: datetime | None = None
) -> None:
    """Sending failed; a failed invitation is replaced by the next candidate at once."""
    now = ensure_aware(now or utcnow())
    message = session.get(OutboundMessage, message_id, populate_existing=True)
    if message is None:
        return
    _fail(session, message, error_code, error_text, now)
    session.commit()


def record_delivery_status(
    session: Session, *, provider_sid: str, status: str, error_code: object = None, now: datetime | None = None
) -> None:
    """A Twilio status callback (message or call); never moves a message backwards.

    A callback for a message whose provider id is not stored yet (Twilio answered our
    send request after calling back) is kept and applied by :func:`mark_sent_many`.
    """
    now = ensure_aware(now or utcnow())
    new_status = _TWILIO_STATUS.get((status or "").strip().lower())
    if new_status is None or not provider_sid:
        session.commit()
        return
    _lock_sids(session, [provider_sid])
    message = session.exec(
        select(OutboundMessage).where(OutboundMessage.provider_sid == provider_sid).execution_options(populate_existing=True)
    ).first()
    if message is None:
        _keep_early(session, provider_sid, new_status, error_code, now)
    else:
        _apply_status(session, message, new_status, status, error_code, now)
    session.commit()


def _apply_status(session: Session, message: OutboundMessage, new_status: MessageStatus, status: str,
                  error_code: object, now: datetime) -> None:
    if new_status is MessageStatus.FAILED:
        code = error_code if error_code not in (None, "") else (status if message.kind != MessageKind.SMS.value else None)
        _fail(session, message, code, None, now)
    elif _STATUS_RANK[new_status.value] > _STATUS_RANK.get(message.status, 0):
        session.execute(
            sa.update(OutboundMessage)
            .where(OutboundMessage.id == message.id, OutboundMessage.status == message.status)
            .values(status=new_status.value)
        )
        reached = InvitationState.DELIVERED if new_status is MessageStatus.DELIVERED else InvitationState.SENT
        _invitation_reached(session, message, reached)


def _lock_sids(session: Session, sids: list[str]) -> None:
    """PostgreSQL: serialise a status callback and ``mark_sent`` for the same provider id, so a
    callback that finds no message is kept before, or sees the id after, the message is marked
    (SQLite's ``BEGIN IMMEDIATE`` already serialises them)."""
    if sids and session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK_SIDS, {"sids": sorted(sids)})


def _keep_early(session: Session, sid: str, new_status: MessageStatus, error_code: object, now: datetime) -> None:
    """Keep the furthest status seen for a message we do not know yet; forget ones older than a day."""
    session.execute(sa.delete(EarlyStatus).where(EarlyStatus.received_at < now - EARLY_STATUS_KEPT))
    early = session.exec(select(EarlyStatus).where(EarlyStatus.provider_sid == sid)).first()
    if early is not None and _STATUS_RANK[_TWILIO_STATUS[early.status].value] >= _STATUS_RANK[new_status.value]:
        return
    early = early or EarlyStatus(provider_sid=sid, received_at=now)
    early.status = new_status.value if new_status is not MessageStatus.FAILED else "failed"
    early.error_code = None if error_code in (None, "") else str(error_code)[:12]
    session.add(early)


def _early_statuses(session: Session, sids: list[str]) -> list[EarlyStatus]:
    """The status callbacks kept for these provider ids (see :func:`record_delivery_status`)."""
    if not sids:
        return []
    return list(session.exec(select(EarlyStatus).where(EarlyStatus.provider_sid.in_(sids))).all())


def _apply_early_statuses(session: Session, early: list[EarlyStatus], now: datetime) -> None:
    for kept in early:
        message = session.exec(
            select(OutboundMessage).where(OutboundMessage.provider_sid == kept.provider_sid)
            .execution_options(populate_existing=True)
        ).first()
        if message is not None:
            _apply_status(session, message, _TWILIO_STATUS[kept.status], kept.status, kept.error_code, now)
        session.delete(kept)


def _invitation_reached(session: Session, message: OutboundMessage, state: InvitationState) -> None:
    """Move an SMS invitation forward to sent/delivered (never back, never past an answer)."""
    if message.invitation_id is None or message.kind != MessageKind.SMS.value:
        return
    earlier = [InvitationState.QUEUED.value] + ([InvitationState.SENT.value] if state is InvitationState.DELIVERED else [])
    session.execute(
        sa.update(Invitation).where(Invitation.id == message.invitation_id, Invitation.state.in_(earlier)).values(state=state.value)
    )


def _fail(session: Session, message: OutboundMessage, error_code: object, error_text: str | None, now: datetime) -> None:
    code = None if error_code in (None, "") else str(error_code)[:12]
    words = (error_text or describe_twilio_error(code))[:200]
    request = lock_request(session, message.request_id) if message.request_id else None
    updated = session.execute(
        sa.update(OutboundMessage)
        .where(OutboundMessage.id == message.id, OutboundMessage.status != MessageStatus.FAILED.value)
        .values(status=MessageStatus.FAILED.value, error_code=code, error_text=words)
    ).rowcount
    if not updated or message.invitation_id is None:
        return
    invitation = session.get(Invitation, message.invitation_id, populate_existing=True)
    person = session.get(Person, invitation.person_id) if invitation else None
    if invitation is None or person is None:
        return
    if code == OPTED_OUT_CODE:
        person.sms_opt_out = True
        session.add(person)
    if message.kind != MessageKind.SMS.value:
        if request is not None:
            add_event(session, request.id, f"Voice call to {first_name(person.name)} failed: {words}", now)
        return
    failed = session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.state.in_([s.value for s in PENDING_STATES]))
        .values(state=InvitationState.FAILED.value, error_code=code, error_text=words, answered_at=now)
    ).rowcount
    if failed and request is not None:
        add_event(session, request.id, f"Invitation to {first_name(person.name)} failed: {words}", now)
        replace(session, request, invitation, now)
