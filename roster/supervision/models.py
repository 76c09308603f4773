"""Supervision tables: agreements, group series, sessions, case reviews, feed tokens.

Sessions of one-to-one agreements and of group series share one table, so a
person's calendar is one query over one kind of row. Every session keeps a stable
``uid`` (its calendar UID) and a ``sequence`` that goes up whenever it changes.
Datetimes are UTC-aware; preferred times are Europe/London wall-clock times.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from roster.timeutil import UTCDateTime, utcnow

DEFAULT_DURATION_MINUTES = 90
GROUP_DURATION_MINUTES = 120
DEFAULT_START = time(10, 0)


class AgreementKind(StrEnum):
    """What a supervision agreement covers."""

    ONE_TO_ONE = "one_to_one"
    CLINICAL = "clinical"
    CASELOAD = "caseload"


class GroupKind(StrEnum):
    """The group series the service runs."""

    REFLECTIVE_GROUP = "reflective_group"
    TEAM_MEETING = "team_meeting"
    THINK_FAMILY = "think_family"


class SessionStatus(StrEnum):
    """A session is booked, then held (and recorded), or postponed, or cancelled."""

    BOOKED = "booked"
    HELD = "held"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"


OCCURRING_STATUSES = (SessionStatus.BOOKED, SessionStatus.HELD)


class CaseItemPurpose(StrEnum):
    """Why a case is in a group's queue: to be presented, or to come back with feedback."""

    PRESENT = "present"
    FEEDBACK = "feedback"


def _utc_column(**kwargs) -> sa.Column:
    return sa.Column(UTCDateTime(), **kwargs)


def new_uid() -> str:
    """A calendar UID that stays with a session for its whole life."""
    return f"{uuid.uuid4()}@diveboat"


class SupervisionAgreement(SQLModel, table=True):
    """The written agreement between a supervisor and a supervisee.

    ``frequency`` is a rule such as ``2w``, ``4w``, ``20wd`` or ``1m``; empty means
    the default for the supervisee's practice stage (see :mod:`roster.supervision.rules`).
    """

    id: int | None = Field(default=None, primary_key=True)
    supervisor_id: int = Field(foreign_key="person.id", index=True)
    supervisee_id: int = Field(foreign_key="person.id", index=True)
    kind: str = Field(default=AgreementKind.ONE_TO_ONE, max_length=16)
    frequency: str | None = Field(default=None, max_length=8)
    duration_minutes: int = Field(default=DEFAULT_DURATION_MINUTES, ge=15, le=480)
    venue: str = Field(default="", max_length=120)
    weekday: int | None = Field(default=None, ge=0, le=4, description="Monday=0; None = any working day")
    start_time: time = DEFAULT_START
    starts_on: date
    ends_on: date | None = None
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))


class SupervisionGroup(SQLModel, table=True):
    """A group series: reflective group supervision, team meeting or Think Family consultation."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    kind: str = Field(max_length=20)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    chair_id: int = Field(foreign_key="person.id", index=True)
    frequency: str = Field(default="2w", max_length=8)
    duration_minutes: int = Field(default=GROUP_DURATION_MINUTES, ge=15, le=480)
    venue: str = Field(default="", max_length=120)
    weekday: int | None = Field(default=None, ge=0, le=4)
    start_time: time = DEFAULT_START
    starts_on: date
    ends_on: date | None = None
    cases_per_session: int = Field(default=2, ge=0, le=10)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))


class SupervisionGroupMember(SQLModel, table=True):
    """A member of a group series (the chair is not listed here)."""

    group_id: int = Field(foreign_key="supervisiongroup.id", primary_key=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE", index=True)


class SupervisionSession(SQLModel, table=True):
    """One session of an agreement or of a group series."""

    __table_args__ = (
        sa.CheckConstraint("(agreement_id IS NULL) <> (group_id IS NULL)", name="ck_session_one_series"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, max_length=80, unique=True)
    agreement_id: int | None = Field(default=None, foreign_key="supervisionagreement.id", index=True)
    group_id: int | None = Field(default=None, foreign_key="supervisiongroup.id", index=True)
    starts_at: datetime = Field(sa_column=_utc_column(nullable=False, index=True))
    ends_at: datetime = Field(sa_column=_utc_column(nullable=False))
    venue: str = Field(default="", max_length=120)
    status: str = Field(default=SessionStatus.BOOKED, max_length=12, index=True)
    sequence: int = 0
    reason: str | None = Field(default=None, max_length=300)
    rebook_of_id: int | None = Field(default=None, foreign_key="supervisionsession.id", index=True)
    recorded_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))


class GroupCaseItem(SQLModel, table=True):
    """A case reference queued for a group series; ``session_id`` is set once it was brought."""

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="supervisiongroup.id", index=True, ondelete="CASCADE")
    case_id: int = Field(foreign_key="case.id", ondelete="CASCADE")
    purpose: str = Field(default=CaseItemPurpose.PRESENT, max_length=10)
    session_id: int | None = Field(default=None, foreign_key="supervisionsession.id")
    queued_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))


class CaseReview(SQLModel, table=True):
    """A case was reviewed in supervision on a day (reference codes only, no case notes)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True, ondelete="CASCADE")
    reviewed_on: date
    session_id: int | None = Field(default=None, foreign_key="supervisionsession.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))


class CalendarFeedToken(SQLModel, table=True):
    """A secret calendar-feed token for one person or one team, stored only as its SHA-256."""

    __table_args__ = (
        sa.CheckConstraint("(person_id IS NULL) <> (team_id IS NULL)", name="ck_feed_token_one_subject"),
    )

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True, ondelete="CASCADE")
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class SupervisionPlanState(SQLModel, table=True):
    """One row: the plan's version (bumped on every change; keys feed caches) and holiday region."""

    id: int = Field(default=1, primary_key=True)
    version: int = 0
    changed_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    holiday_region: str = Field(default="england-and-wales", max_length=24)
