"""The SQL a reply runs (see :mod:`roster.quorum.answers`), built once: the webhook runs it
hundreds of times a second. What a reply reads about its target, the locks PostgreSQL takes,
and how a reply is written: :class:`ReplyWrites`, and PostgreSQL's one-statement answer
(:data:`ANSWER_STORED`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from roster.models import Person, Role
from roster.quorum.models import (
    Channel, InboundMessage, Invitation, InvitationState, OutboundMessage, QuorumEvent, QuorumRequest, RequestState,
)
from roster.quorum.store import REQUEST_PARTY, add_event, event_values, queue_texts, text_values

#: Execution options for statements that are each their own transaction (no BEGIN or COMMIT round trips).
AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}

_invitation = Invitation.__table__
_request = QuorumRequest.__table__
_inbound = InboundMessage.__table__
_event = QuorumEvent.__table__
_outbound = OutboundMessage.__table__
_person = Person.__table__

#: What a reply needs to know about its target invitation and the request it belongs to.
TARGET_COLUMNS = (
    _invitation.c.id.label("invitation_id"), _invitation.c.state.label("invitation_state"), _invitation.c.code,
    _request.c.id.label("request_id"), _request.c.state.label("request_state"), _request.c.need,
    _request.c.need_metateam, _request.c.requester_id, _request.c.case_id,
)

#: PostgreSQL: share-lock the request (other replies may too; forming or closing it waits), then lock
#: the invitation, and read both as they are once locked (a row another transaction changed meanwhile
#: is read in its new version). Requests before invitations, as every writer locks them.
LOCK_TARGET = (
    sa.select(*TARGET_COLUMNS)
    .select_from(_request.join(_invitation, _invitation.c.request_id == _request.c.id))
    .where(_invitation.c.id == sa.bindparam("invitation_id"))
    .with_for_update(read=True, of=_request)
    .suffix_with(f"FOR UPDATE OF {_invitation.name}")
)
TARGET = (
    sa.select(*TARGET_COLUMNS)
    .join_from(_invitation, _request, _request.c.id == _invitation.c.request_id)
    .where(_invitation.c.id == sa.bindparam("invitation_id"))
)
_SET_STATE = sa.update(_invitation).where(_invitation.c.id == sa.bindparam("invitation_id"))
CLAIM_HELP = sa.update(_invitation).where(
    _invitation.c.id == sa.bindparam("invitation_id"), _invitation.c.help_sent.is_(False)).values(help_sent=True)


def thanked(invitation_id, outcome) -> sa.Exists:
    """SQL: whether a late join to ``invitation_id`` was thanked already, i.e. a reply to it is
    stored with the late join's ``outcome`` (both SQL expressions)."""
    return sa.exists().where(_inbound.c.invitation_id == invitation_id, _inbound.c.outcome == outcome)


#: A late join's party (:data:`store.REQUEST_PARTY`) and whether its invitation's late join was
#: thanked already (``outcome``): read after the invitation's lock, so a late join thanked meanwhile is seen.
LATE_JOIN_PARTY = REQUEST_PARTY.add_columns(
    thanked(sa.bindparam("invitation_id"), sa.bindparam("outcome")).label("thanked"))
_JOINED_HERE = sa.and_(_invitation.c.request_id == _request.c.id, _invitation.c.state == InvitationState.JOINED.value)
#: The request, if it is open and its joiners now meet what it needs (read without locks).
QUORUM_MET = sa.select(_request.c.id).where(
    _request.c.id == sa.bindparam("request_id"),
    _request.c.state == RequestState.OPEN.value,
    sa.select(sa.func.count()).where(_JOINED_HERE).scalar_subquery() >= _request.c.need,
    sa.select(sa.func.count()).select_from(_invitation.join(_person, _person.c.id == _invitation.c.person_id))
    .where(_JOINED_HERE, _person.c.role == Role.METATEAM.value).scalar_subquery() >= _request.c.need_metateam,
)

_CHANGED = sa.update(_invitation).where(_invitation.c.id == sa.bindparam("change_invitation_id")).values(
    state=sa.bindparam("change_state"), answered_at=sa.bindparam("change_at")).cte("changed")
_NOTED = sa.insert(_event).values(  # store.event_values' columns as event_<column>
    request_id=sa.bindparam("event_request_id"), at=sa.bindparam("event_at"), text=sa.bindparam("event_text")).cte("noted")


_TEXT_COLUMNS = tuple(text_values("", "", request_id=None, now=None))
#: A text (store.text_values' columns as text_<column>). The columns it shares with the stored reply
#: (``invitation_id``, ``provider_sid``) are set NULL by name: left out, they would take the stored
#: reply's parameters of the same name.
_QUEUED = sa.insert(_outbound).values(
    **{column: sa.bindparam(f"text_{column}") for column in _TEXT_COLUMNS},
    **{name: sa.null() for name in sorted(set(_outbound.c.keys()) & set(_inbound.c.keys()) - {"id", *_TEXT_COLUMNS})},
).cte("queued")


def _store_statement(insert, *ctes: sa.CTE):
    return (insert(_inbound).on_conflict_do_nothing(index_elements=[_inbound.c.provider_sid])
            .returning(_inbound.c.id).add_cte(*ctes))


#: Store a reply (its id, or nothing when another delivery stored it first), by dialect and
#: (with a state change, with an event, with a text); PostgreSQL writes what is held in the same statement.
_STORE = {
    ("sqlite", False, False, False): _store_statement(sqlite.insert),
    **{("postgresql", changed, noted, queued): _store_statement(
        postgresql.insert, *([_CHANGED] if changed else []), *([_NOTED] if noted else []), *([_QUEUED] if queued else []))
       for changed in (False, True) for noted in (False, True) for queued in (False, True)},
}


def _bound(name: str, column: sa.Column) -> sa.BindParameter:
    return sa.bindparam(name, type_=column.type)


#: PostgreSQL's answer in one statement (``answers.answer_at_once``): share-lock the request if it is
#: still open, change the invitation if it is still in the state the first read found (and the
#: message is not stored yet), then note the event and store the reply from the changed row.
#: Nothing is written unless the invitation changed; requests are locked before invitations.
_STILL_OPEN = (
    sa.select(_request.c.id)
    .where(_request.c.id == sa.bindparam("answer_request_id"), _request.c.state == RequestState.OPEN.value)
    .with_for_update(read=True)
    .cte("still_open")
)
_ANSWERED = (
    sa.update(_invitation)
    .where(
        _invitation.c.id == sa.bindparam("answer_invitation_id"),
        _invitation.c.state == sa.bindparam("answer_expected_state"),
        _invitation.c.request_id.in_(sa.select(_STILL_OPEN.c.id)),
        ~sa.exists().where(_inbound.c.provider_sid == _bound("stored_provider_sid", _inbound.c.provider_sid)),
    )
    .values(state=sa.bindparam("answer_state"), answered_at=_bound("stored_received_at", _invitation.c.answered_at))
    .returning(_invitation.c.id, _invitation.c.request_id)
    .cte("answered")
)
_ANSWER_NOTED = sa.insert(_event).from_select(
    ["request_id", "at", "text"],
    sa.select(_ANSWERED.c.request_id, _bound("stored_received_at", _event.c.at), _bound("answer_note", _event.c.text)),
).cte("answer_noted")
#: The stored reply's columns as :func:`inbound_values` gives them (``stored_<column>``), its invitation the changed one.
_STORED_COLUMNS = [column for column in _inbound.c if column.name != "id"]
ANSWER_STORED = (
    postgresql.insert(_inbound)
    .from_select(
        [column.name for column in _STORED_COLUMNS],
        sa.select(*(_ANSWERED.c.id if column.name == "invitation_id" else _bound(f"stored_{column.name}", column)
                    for column in _STORED_COLUMNS)),
    )
    .on_conflict_do_nothing(index_elements=[_inbound.c.provider_sid])
    .returning(_inbound.c.id)
    .add_cte(_ANSWER_NOTED)
)


def inbound_values(*, provider_sid: str, channel: Channel, phone: str, body: str, at: datetime, outcome: str,
                   invitation_id: int | None, understood: bool = True) -> dict:
    """A stored reply's row by column, each value cut to fit."""
    return {"provider_sid": provider_sid, "channel": channel.value, "from_phone": phone[:20],
            "body": (body or "")[:1600], "received_at": at, "invitation_id": invitation_id,
            "outcome": outcome[:200], "understood": understood}


class ReplyWrites:
    """What a reply writes: its invitation's new state, an event on the request, a text
    back to its sender, and last the reply itself.

    SQLite writes the state, the event and the text at once (a join then counts itself
    when it checks the quorum). PostgreSQL holds them and writes them with the reply, in
    one statement (data-modifying CTEs): one round trip instead of up to four. A reply
    changes at most one invitation, notes at most one event and queues at most one text;
    a second of any is written at once.
    """

    def __init__(self, session: Session, connection: sa.Connection) -> None:
        self._session = session
        self.connection = connection
        self._dialect = connection.dialect.name
        self._hold = self._dialect == "postgresql"
        self._change: dict | None = None
        self._event: dict | None = None
        self._text: dict | None = None

    def set_state(self, invitation_id: int, state: InvitationState, at: datetime) -> None:
        """The invitation's new state, answered at ``at``."""
        if self._hold and self._change is None:
            self._change = {"change_invitation_id": invitation_id, "change_state": state.value, "change_at": at}
        else:
            self.connection.execute(_SET_STATE, {"invitation_id": invitation_id, "state": state.value, "answered_at": at})

    def note(self, request_id: int, text: str, at: datetime) -> None:
        """An event on the request (see :func:`store.add_event`)."""
        if self._hold and self._event is None:
            self._event = {f"event_{column}": value for column, value in event_values(request_id, text, at).items()}
        else:
            add_event(self._session, request_id, text, at)

    def queue_text(self, phone: str, body: str, request_id: int, at: datetime) -> None:
        """A text to queue (see :func:`store.queue_texts`)."""
        if self._hold and self._text is None:
            self._text = {f"text_{column}": value
                          for column, value in text_values(phone, body, request_id=request_id, now=at).items()}
        else:
            queue_texts(self._session, [(phone, body)], request_id=request_id, now=at)

    def store_reply(self, values: dict) -> int | None:
        """Insert the reply (``values`` by column) with whatever is held; its id, or None when a
        concurrent delivery of the same message stored it first."""
        statement = _STORE[self._dialect, self._change is not None, self._event is not None, self._text is not None]
        parameters = values | (self._change or {}) | (self._event or {}) | (self._text or {})
        self._change = self._event = self._text = None
        return self.connection.execute(statement, parameters).scalar()
