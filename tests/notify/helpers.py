"""Scenario helpers shared by the notify tests and benchmarks: a team, a clock, ``diveboat serve`` in threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from notify.clock import EscalationLoop
from notify.sending import SendingProcess
from notify.server import create_server
from roster.db import make_engine, session_factory
from roster.models import AvailabilityWindow, Person, Role, Status
from roster.quorum.lifecycle import create_request
from roster.quorum.models import Invitation, OutboundMessage, QuorumRequest
from roster.settings import Settings
from roster.timeutil import utcnow
from tests.fake_twilio import ServerThread

#: The team used in scenarios: Sam asks; the others are keyworkers on duty.
TEAM = ["Sam Okafor", "Alex Green", "Bea Hart", "Cal Idris", "Dee Jones", "Eve King", "Fin Lowe"]


class Clock:
    """A clock the tests move by hand (starts at the real time, so Twilio's dates agree)."""

    def __init__(self) -> None:
        self.now = utcnow().replace(microsecond=0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, **delta) -> None:
        with self._lock:
            self.now += timedelta(**delta)


def wait_for(condition: Callable[[], object], what: str, timeout: float = 15.0):
    """Wait until ``condition()`` is truthy (background deliveries finish); fail with ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.02)


def add_team(session: Session, now: datetime, names=TEAM, first_number: int = 101) -> dict[str, Person]:
    """People on duty from an hour before ``now`` for eight hours, phones +447700900101..."""
    people = {}
    for offset, name in enumerate(names):
        person = Person(name=name, phone=f"+447700900{first_number + offset:03d}", role=Role.KEYWORKER.value)
        session.add(person)
        session.flush()
        session.add(AvailabilityWindow(person_id=person.id, status=Status.ON_DUTY.value,
                                       starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8)))
        people[name.split()[0]] = person
    session.commit()
    return people


def ask_for_quorum(new_session, requester: Person, clock: Clock, **options) -> int:
    """What ``diveboat quorum request`` does before sending: create the request; returns its id."""
    with new_session() as session:
        return create_request(session, requester.id, now=clock(), **options).id


def invitation_states(new_session, request_id: int, team: dict[str, Person]) -> dict[str, str]:
    """Each invitee's invitation state, by first name."""
    names = {person.id: name for name, person in team.items()}
    with new_session() as session:
        rows = session.exec(select(Invitation).where(Invitation.request_id == request_id)).all()
        return {names[row.person_id]: row.state for row in rows}


def request_state(new_session, request_id: int) -> str:
    with new_session() as session:
        return session.get(QuorumRequest, request_id).state


def unsent(new_session) -> int:
    """Outbound messages not yet handed to Twilio (queued or being sent)."""
    with new_session() as session:
        return session.exec(
            select(sa.func.count()).select_from(OutboundMessage).where(OutboundMessage.status.in_(["queued", "sending"]))
        ).one()


class Service:
    """What ``diveboat serve`` runs: the ASGI app under uvicorn and the escalation loop in threads,
    their Twilio requests made by a sending process."""

    def __init__(self, settings: Settings, clock: Clock, *, port: int = 0, interval: float = 0.05) -> None:
        self.http = ServerThread(port=port)
        self.settings = settings.model_copy(update={"public_url": self.http.url})
        self.engine = make_engine(settings.db)
        self.new_session = session_factory(self.engine)
        self.sending = SendingProcess(self.settings)
        self.app = create_server(self.settings, self.engine, sending=self.sending)
        self.app.state.clock = clock
        self.loop = EscalationLoop(self.settings, self.new_session, interval=interval, clock=clock, sending=self.sending)

    @property
    def url(self) -> str:
        return self.http.url

    def start(self) -> Service:
        self.sending.start()
        self.http.start(self.app)
        self.loop.start()
        return self

    def stop(self) -> None:
        self.loop.stop()
        self.http.stop()
        self.sending.close()
        self.engine.dispose()
