"""A small roster built per test: people on duty (or not) around a fixed moment."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from roster.models import AvailabilityWindow, Case, CaseInvolvement, MetaTeamConsent, Person, PersonSkill, Role, Status
from roster.quorum.models import OutboundMessage
from roster.quorum.outbox import claim_outbound, mark_outbox, mark_sent
from roster.timeutil import parse_when

#: Monday 23 November 2026, 11:00 in London (UTC in winter).
NOW = parse_when("2026-11-23T11:00")
DATA_STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE")


@contextmanager
def counting(engine: sa.Engine) -> Iterator[list[str]]:
    """The data statements (not BEGIN/COMMIT) run on ``engine`` inside the block."""
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith(DATA_STATEMENTS):
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


@dataclass
class Roster:
    """Adds people around :data:`NOW` and reads what was queued to them."""

    session: Session
    numbers: itertools.count = field(default_factory=lambda: itertools.count(100))
    people: dict[str, Person] = field(default_factory=dict)

    def add(self, name: str, role: Role = Role.KEYWORKER, *, status: Status = Status.ON_DUTY, skills=(),
            consent: tuple[int, time, time] | None = None, **fields) -> Person:
        person = Person(name=name, phone=f"+447700900{next(self.numbers):03d}", role=role.value, **fields)
        self.session.add(person)
        self.session.flush()
        self.session.add(AvailabilityWindow(person_id=person.id, status=status.value, starts_at=NOW - timedelta(hours=2),
                                            ends_at=NOW + timedelta(hours=10)))
        for skill in skills:
            self.session.add(PersonSkill(person_id=person.id, skill=skill))
        if consent is not None:
            per_week, start, end = consent
            self.session.add(MetaTeamConsent(person_id=person.id, max_per_week=per_week, contact_from=start, contact_until=end))
        self.session.commit()
        self.people[name] = person
        return person

    def team(self, *names: str, role: Role = Role.KEYWORKER) -> list[Person]:
        return [self.add(name, role) for name in names]

    def case(self, reference: str, *involved: Person) -> Case:
        case = Case(reference=reference)
        self.session.add(case)
        self.session.flush()
        for person in involved:
            self.session.add(CaseInvolvement(case_id=case.id, person_id=person.id))
        self.session.commit()
        return case

    def phone(self, name: str) -> str:
        return self.people[name].phone

    def name_of(self, phone: str) -> str:
        return next(name for name, p in self.people.items() if p.phone == phone)

    def send_all(self, now: datetime = NOW) -> list[OutboundMessage]:
        """Claim everything queued and mark it sent (as notify would); returns what went out."""
        sent = claim_outbound(self.session, worker="test", now=now)
        for message in sent:
            mark_sent(self.session, message.id, f"SM{message.id:06d}", now=now)
        return self._as_now(sent)

    def to_outbox(self, now: datetime = NOW) -> list[OutboundMessage]:
        claimed = claim_outbound(self.session, worker="test", now=now)
        mark_outbox(self.session, [m.id for m in claimed], now=now)
        return self._as_now(claimed)

    def _as_now(self, claimed) -> list[OutboundMessage]:
        """The claimed messages as they are now (a claim returns rows as they were claimed)."""
        messages = [self.session.get(OutboundMessage, m.id, populate_existing=True) for m in claimed]
        self.session.commit()  # ends the read (SQLite: lets other sessions write)
        return messages

    def queued(self) -> list[OutboundMessage]:
        return list(self.session.exec(select(OutboundMessage).where(OutboundMessage.status == "queued").order_by(OutboundMessage.id)))

    def inbox(self, name: str) -> list[str]:
        """Bodies of every message (any status) addressed to ``name``."""
        rows = self.session.exec(select(OutboundMessage).where(OutboundMessage.to_phone == self.phone(name)).order_by(OutboundMessage.id))
        return [m.body for m in rows]


@pytest.fixture
def roster(session) -> Roster:
    return Roster(session)
