"""Reflective quorum tables: requests, invitations, the outbox, inbound replies and events.

All quorum state lives here, so any process (``diveboat serve``, the dashboard, the
CLI) can advance a request and a restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from roster.timeutil import UTCDateTime, utcnow


class RequestState(StrEnum):
    OPEN = "open"
    FORMED = "formed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class InvitationState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    JOINED = "joined"
    DECLINED = "declined"
    NO_ANSWER = "no_answer"
    STOOD_DOWN = "stood_down"


#: Invitations still waiting for an answer.
PENDING_STATES = (InvitationState.QUEUED, InvitationState.SENT, InvitationState.DELIVERED)
#: Invitations a person can still answer (a decline may be changed to a join while the request is open).
ANSWERABLE_STATES = (*PENDING_STATES, InvitationState.JOINED, InvitationState.DECLINED)


class MessageKind(StrEnum):
    SMS = "sms"
    VOICE = "voice"
    CONFERENCE = "conference"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    OUTBOX = "outbox"


class Channel(StrEnum):
    SMS = "sms"
    VOICE = "voice"


def _utc_column(**kwargs) -> sa.Column:
    return sa.Column(UTCDateTime(), **kwargs)


class QuorumRequest(SQLModel, table=True):
    """A worker's request for ``need`` peers to think with, by a deadline."""

    __tablename__ = "quorumrequest"
    __table_args__ = (sa.Index("ix_quorumrequest_state_deadline", "state", "deadline_at"),)

    id: int | None = Field(default=None, primary_key=True)
    requester_id: int = Field(foreign_key="person.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="case.id")
    need: int = Field(default=2, ge=1)
    need_metateam: int = Field(default=0, ge=0)
    skills: str = Field(default="", max_length=400, description="';'-separated wanted skills")
    reason: str = Field(default="", sa_type=sa.Text, description="kept in the database only, never sent")
    deadline_at: datetime = Field(sa_column=_utc_column(nullable=False))
    state: str = Field(default=RequestState.OPEN, max_length=12)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    formed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    next_step: str | None = Field(default=None, sa_type=sa.Text, description="Thinking Together outcome")
    conference_name: str | None = Field(default=None, max_length=80)
    urgent: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false()},
        description="asked as urgent: a wider first wave, texted and called at once",
    )

    @property
    def skill_list(self) -> list[str]:
        return [s for s in (part.strip() for part in self.skills.split(";")) if s]


class Invitation(SQLModel, table=True):
    """One person asked to join one request."""

    __table_args__ = (
        sa.UniqueConstraint("request_id", "person_id", name="uq_invitation_request_person"),
        sa.Index("ix_invitation_person_state", "person_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="quorumrequest.id", index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id")
    wave: int = Field(default=1)
    code: str = Field(max_length=8, description="short per-person number, unique among their open invitations")
    state: str = Field(default=InvitationState.QUEUED, max_length=12, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    answered_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    voice_called_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    error_code: str | None = Field(default=None, max_length=12)
    error_text: str | None = Field(default=None, max_length=200)
    help_sent: bool = False
    reason_picked: str = Field(default="", max_length=300)


class OutboundMessage(SQLModel, table=True):
    """The outbox and send queue: an SMS, a voice call script or a conference dial-in."""

    __tablename__ = "outboundmessage"
    __table_args__ = (sa.Index("ix_outbound_status_created", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default=MessageKind.SMS, max_length=12)
    to_phone: str = Field(max_length=20)
    body: str = Field(sa_type=sa.Text)
    request_id: int | None = Field(default=None, foreign_key="quorumrequest.id", index=True, ondelete="CASCADE")
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id", index=True, ondelete="SET NULL")
    status: str = Field(default=MessageStatus.QUEUED, max_length=12)
    provider_sid: str | None = Field(default=None, max_length=64, unique=True)
    error_code: str | None = Field(default=None, max_length=12)
    error_text: str | None = Field(default=None, max_length=200)
    claimed_by: str | None = Field(default=None, max_length=80)
    claimed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class InboundMessage(SQLModel, table=True):
    """A reply received by SMS or keypress; ``provider_sid`` makes handling idempotent."""

    __tablename__ = "inboundmessage"

    id: int | None = Field(default=None, primary_key=True)
    provider_sid: str = Field(max_length=80, unique=True)
    channel: str = Field(default=Channel.SMS, max_length=8)
    from_phone: str = Field(max_length=20, index=True)
    body: str = Field(default="", sa_type=sa.Text)
    received_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id", index=True, ondelete="SET NULL")
    outcome: str = Field(default="", max_length=200)
    understood: bool = True


class QuorumEvent(SQLModel, table=True):
    """An escalation step or other thing that happened to a request, for the quorum screen."""

    __tablename__ = "quorumevent"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="quorumrequest.id", index=True, ondelete="CASCADE")
    at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    text: str = Field(max_length=300)


class EarlyStatus(SQLModel, table=True):
    """A Twilio status callback that came before its message's provider id was stored.

    Twilio may call back while our send request is still waiting for its answer;
    ``mark_sent`` applies the status kept here once it learns the message's id.
    """

    __tablename__ = "earlystatus"

    id: int | None = Field(default=None, primary_key=True)
    provider_sid: str = Field(max_length=64, unique=True)
    status: str = Field(max_length=20)
    error_code: str | None = Field(default=None, max_length=12)
    received_at: datetime = Field(sa_column=_utc_column(nullable=False, index=True))
