"""Two escalation loops (dashboard + server, or two servers) at once never queue or send twice.

Nor do they choose waves for different requests from the same stale picture: with
enough people free, nobody is invited into two open requests at once (PostgreSQL
serialises wave choice with an advisory lock; SQLite's BEGIN IMMEDIATE already does).
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlmodel import select

from roster.db import make_engine, session_factory
from roster.quorum import advance, claim_outbound, create_request, mark_sent
from roster.quorum.models import Invitation, OutboundMessage, QuorumEvent
from tests.quorum.conftest import NOW

TICK = timedelta(seconds=30)
TICKS = 18  # past the 8-minute deadlines


def loop(db_url: str, worker: str, barrier: threading.Barrier, claimed: list[int], steps: list[str],
         errors: list[BaseException]) -> None:
    engine = make_engine(db_url)
    new_session = session_factory(engine)
    try:
        for tick in range(TICKS):
            now = NOW + tick * TICK
            barrier.wait()
            with new_session() as session:
                steps.extend(advance(session, now=now))
                for message in claim_outbound(session, worker=worker, now=now):
                    claimed.append(message.id)
                    mark_sent(session, message.id, f"SM-{message.id}", now=now)
    except BaseException as error:  # reported by the test
        errors.append(error)
        barrier.abort()
    finally:
        engine.dispose()


def test_two_escalation_loops_never_queue_or_send_anything_twice(roster, session, db_url):
    people = roster.team(*(f"Worker{n:02d} Test" for n in range(60)))  # more than the 48 invitations
    requests = [create_request(session, people[i].id, need=3, deadline_minutes=8, now=NOW) for i in range(4)]
    barrier = threading.Barrier(2)
    claimed = {"one": [], "two": []}
    steps: list[str] = []
    errors: list[BaseException] = []
    threads = [threading.Thread(target=loop, args=(db_url, name, barrier, claimed[name], steps, errors)) for name in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    session.expire_all()
    messages = session.exec(select(OutboundMessage)).all()
    assert not set(claimed["one"]) & set(claimed["two"])  # no message claimed by both
    assert sorted(claimed["one"] + claimed["two"]) == sorted(m.id for m in messages)
    assert len(steps) == len(set(steps)) > 4 * 3  # calls, waves and expiry, each taken by one loop only
    voice_calls = Counter(m.invitation_id for m in messages if m.kind == "voice")
    assert voice_calls and max(voice_calls.values()) == 1
    invitations = session.exec(select(Invitation)).all()
    invites = Counter(m.invitation_id for m in messages if m.kind == "sms" and m.invitation_id)
    assert sorted(invites) == sorted(i.id for i in invitations) and max(invites.values()) == 1
    requests_per_person = Counter(i.person_id for i in invitations)
    assert len(invitations) == 4 * 12 and max(requests_per_person.values()) == 1  # one open invitation per person
    for request in requests:
        events = [e.text for e in session.exec(select(QuorumEvent).where(QuorumEvent.request_id == request.id))]
        waves = {i.wave for i in invitations if i.request_id == request.id}
        assert len([t for t in events if t.startswith("Wave ")]) == len(waves) > 1
        assert len([t for t in events if t.startswith("Not formed by the deadline")]) == 1
