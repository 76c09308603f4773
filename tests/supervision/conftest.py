"""Supervision test helpers: people and agreements on a fixed clock (1 Dec 2026)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timezone

import pytest
from sqlmodel import Session, select

from roster.models import AvailabilityWindow, Person, Team, TeamMembership
from roster.supervision.agreements import create_agreement
from roster.supervision.models import SupervisionSession
from roster.timeutil import LONDON, local_datetime

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
_phones = itertools.count(100)


@pytest.fixture
def make_person(session: Session):
    """Add a person: ``make_person("Sam Okafor", practice_stage="asye", stage_date=...)``."""

    def make(name: str, *, team: Team | None = None, **fields) -> Person:
        fields.setdefault("role", "keyworker")
        email = name.lower().replace(" ", ".") + "@diveboat.example"
        person = Person(name=name, phone=f"+447700900{next(_phones) % 1000:03d}", email=email, **fields)
        session.add(person)
        session.flush()
        if team is not None:
            session.add(TeamMembership(team_id=team.id, person_id=person.id))
        session.commit()
        return person

    return make


@pytest.fixture
def make_team(session: Session):
    def make(name: str) -> Team:
        team = Team(name=name)
        session.add(team)
        session.commit()
        return team

    return make


def agree(session: Session, supervisor: Person, supervisee: Person, **fields):
    """An agreement, committed (defaults: starts 4 Jan 2027, no preferred weekday)."""
    fields.setdefault("starts_on", date(2027, 1, 4))
    agreement = create_agreement(session, supervisor, supervisee, now=NOW, **fields)
    session.commit()
    return agreement


def leave(session: Session, person: Person, first: date, last: date, status: str = "leave") -> None:
    """Whole days of leave (or sickness), Europe/London."""
    session.add(
        AvailabilityWindow(
            person_id=person.id, status=status, starts_at=local_datetime(first, time(0)),
            ends_at=local_datetime(last, time(23, 59)), note=status,
        )
    )
    session.commit()


def local_starts(session: Session, agreement_id: int | None = None, group_id: int | None = None) -> list[datetime]:
    """Session start times (Europe/London) of one series, in order."""
    query = select(SupervisionSession).order_by(SupervisionSession.starts_at)
    if agreement_id is not None:
        query = query.where(SupervisionSession.agreement_id == agreement_id)
    if group_id is not None:
        query = query.where(SupervisionSession.group_id == group_id)
    return [row.starts_at.astimezone(LONDON) for row in session.exec(query)]


def days(session: Session, agreement_id: int) -> list[date]:
    return [moment.date() for moment in local_starts(session, agreement_id)]
