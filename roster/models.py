"""Core roster tables: people, teams, MetaTeam consent, availability, rota and cases.

Every datetime column is UTC-aware (see :class:`roster.timeutil.UTCDateTime`); rota
times are Europe/London wall-clock times, so a 09:00 shift stays 09:00 across DST.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from roster.timeutil import UTCDateTime, utcnow


class Role(StrEnum):
    """What a person does in the service."""

    KEYWORKER = "keyworker"
    METATEAM = "metateam"
    EXPERT_BY_EXPERIENCE = "expert_by_experience"
    MANAGER = "manager"


class Employment(StrEnum):
    FULL_TIME = "full_time"
    PART_TIME = "part_time"


class PracticeStage(StrEnum):
    """Practice stage; ``asye`` carries its start date, ``probation`` its end date."""

    ASYE = "asye"
    PROBATION = "probation"
    QUALIFIED = "qualified"
    OTHER_STAFF = "other_staff"


class Status(StrEnum):
    """Where a person is at a moment."""

    ON_DUTY = "on_duty"
    IN_FIELD = "in_field"
    OFF = "off"
    LEAVE = "leave"
    SICK = "sick"


REACHABLE_STATUSES = (Status.ON_DUTY, Status.IN_FIELD)


def _utc_column(**kwargs) -> sa.Column:
    return sa.Column(UTCDateTime(), **kwargs)


class Person(SQLModel, table=True):
    """Anyone on the roster: keyworker, MetaTeam clinician, Expert by Experience or manager."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    phone: str = Field(max_length=20, unique=True, index=True, description="E.164")
    email: str | None = Field(default=None, max_length=200)
    role: str = Field(max_length=24, index=True)
    employment: str = Field(default=Employment.FULL_TIME, max_length=12)
    practice_stage: str = Field(default=PracticeStage.QUALIFIED, max_length=12)
    stage_date: date | None = Field(default=None, description="ASYE start or probation end")
    line_manager_id: int | None = Field(default=None, foreign_key="person.id")
    active: bool = Field(default=True, index=True)
    sms_opt_out: bool = False

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else self.name


class PersonSkill(SQLModel, table=True):
    """A skill or area of expertise a person brings (e.g. ``self-harm``)."""

    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    skill: str = Field(primary_key=True, max_length=60, index=True)


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)


class TeamMembership(SQLModel, table=True):
    """A person may sit in more than one team."""

    team_id: int = Field(foreign_key="team.id", primary_key=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE", index=True)


class MetaTeamConsent(SQLModel, table=True):
    """The agreed level of consultation a MetaTeam member consented to."""

    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    max_per_week: int = Field(default=2, ge=0)
    contact_from: time = time(9, 0)
    contact_until: time = time(17, 0)


class AvailabilityWindow(SQLModel, table=True):
    """A person's status over a time window; overrides the rota while it lasts."""

    __table_args__ = (sa.Index("ix_window_person_span", "person_id", "starts_at", "ends_at"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE")
    status: str = Field(max_length=12)
    starts_at: datetime = Field(sa_column=_utc_column(nullable=False))
    ends_at: datetime = Field(sa_column=_utc_column(nullable=False))
    note: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))


class RotaShift(SQLModel, table=True):
    """A weekly duty shift in Europe/London wall-clock time (may run past midnight)."""

    __table_args__ = (sa.Index("ix_rota_weekday_start", "weekday", "start_time"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE", index=True)
    weekday: int = Field(ge=0, le=6, description="Monday=0")
    start_time: time
    end_time: time
    valid_from: date | None = None
    valid_until: date | None = None


class Case(SQLModel, table=True):
    """A case, known only by its reference code (never a client's name)."""

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=20, unique=True, index=True)
    active: bool = True


class CaseInvolvement(SQLModel, table=True):
    """A worker directly involved with a case's family (too close to sit in its quorum)."""

    case_id: int = Field(foreign_key="case.id", primary_key=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE", index=True)
