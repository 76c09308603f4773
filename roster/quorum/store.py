"""Small shared steps: locking a request, queueing a message, noting an event."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.models import Case, Person
from roster.quorum.models import MessageKind, MessageStatus, OutboundMessage, QuorumEvent, QuorumRequest


#: Built once (forming a quorum locks its request while replies pour in); by ``skip_locked``.
_LOCK_REQUEST = {
    skip_locked: select(QuorumRequest).where(QuorumRequest.id == sa.bindparam("request_id"))
    .with_for_update(skip_locked=skip_locked).execution_options(populate_existing=True)
    for skip_locked in (False, True)
}


def lock_request(session: Session, request_id: int, *, skip_locked: bool = False) -> QuorumRequest | None:
    """Re-read a request and lock its row for this transaction (PostgreSQL ``FOR UPDATE``).

    On SQLite every writing transaction already holds the database lock (``BEGIN
    IMMEDIATE``). With ``skip_locked`` a request another process is working on is
    skipped (returns None) instead of waited for.
    """
    return session.exec(_LOCK_REQUEST[skip_locked], params={"request_id": request_id}).first()


#: Key of the PostgreSQL advisory lock under which waves are chosen (any fixed 64-bit number; "DiveQuor").
WAVE_CHOICE_LOCK = 0x4469766551756F72


def lock_wave_choice(session: Session) -> None:
    """Choose whom to invite one transaction at a time, across all requests; held until commit.

    Each request is locked on its own, so without this two processes choosing waves
    for two requests would both rank the same free person first (neither sees the
    other's invitations) and invite them into both. PostgreSQL takes a
    transaction-level advisory lock; SQLite's ``BEGIN IMMEDIATE`` already serialises.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": WAVE_CHOICE_LOCK})


def queue_message(
    session: Session,
    *,
    to_phone: str,
    body: str,
    request_id: int | None,
    now: datetime,
    kind: MessageKind = MessageKind.SMS,
    invitation_id: int | None = None,
) -> OutboundMessage:
    """Put a message in the send queue (notify's ``deliver_pending`` sends it)."""
    message = OutboundMessage(
        kind=kind.value, to_phone=to_phone, body=body, request_id=request_id, invitation_id=invitation_id, created_at=now
    )
    session.add(message)
    return message


_ADD_EVENT = sa.insert(QuorumEvent.__table__)


_QUEUE_TEXT = sa.insert(OutboundMessage.__table__)


def queue_texts(session: Session, texts: list[tuple[str, str]], *, request_id: int | None, now: datetime) -> None:
    """Queue several SMS, (phone, body) each, in one statement (no objects to load or flush)."""
    rows = [text_values(phone, body, request_id=request_id, now=now) for phone, body in texts]
    if rows:  # one row as a plain execute: a list of one would take the driver's executemany path
        session.execute(_QUEUE_TEXT, rows[0] if len(rows) == 1 else rows)


def text_values(phone: str, body: str, *, request_id: int | None, now: datetime | None) -> dict:
    """A queued SMS's row by column."""
    return {"kind": MessageKind.SMS.value, "to_phone": phone, "body": body, "request_id": request_id,
            "status": MessageStatus.QUEUED.value, "created_at": now}


def forget_loaded(session: Session, *classes: type) -> None:
    """Have objects of ``classes`` that this session holds re-read: plain UPDATEs left them as they were."""
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, classes):
            session.expire(loaded)


def add_event(session: Session, request_id: int, text: str, now: datetime) -> None:
    """Note a step taken on a request (shown on the quorum screen and by ``quorum status``)."""
    session.execute(_ADD_EVENT, event_values(request_id, text, now))


def event_values(request_id: int, text: str, now: datetime) -> dict:
    """An event's row by column (``request_id``, ``at``, ``text``), its text cut to fit."""
    return {"request_id": request_id, "at": now, "text": text[:300]}


#: Who a text names or reaches: id, name, phone and SMS opt-out (plain rows, not ORM objects: a
#: quorum forms while replies pour in; still flushed first, as ORM statements are).
CONTACT_COLUMNS = (Person.id, Person.name, Person.phone, Person.sms_opt_out)
#: A request's requester (``CONTACT_COLUMNS``) and case ``reference``; parameters ``requester_id``, ``case_id``.
REQUEST_PARTY = (
    select(*CONTACT_COLUMNS, Case.reference)
    .outerjoin(Case, Case.id == sa.bindparam("case_id"))
    .where(Person.id == sa.bindparam("requester_id"))
)


def request_party(session: Session, request: QuorumRequest) -> tuple[sa.Row, str | None]:
    """The requester (``CONTACT_COLUMNS``) and the case reference of a request, in one query."""
    row = session.execute(REQUEST_PARTY, {"requester_id": request.requester_id, "case_id": request.case_id}).one()
    return row, row.reference


TITLES = {"dr", "mr", "mrs", "ms", "mx", "miss", "prof", "professor", "rev"}


def first_name(name: str) -> str:
    """The name a text greets someone by: the first word that is not a title ("Dr Nadia Haddad" -> "Nadia")."""
    words = name.split()
    for word in words:
        if word.rstrip(".").casefold() not in TITLES:
            return word
    return words[0] if words else name
