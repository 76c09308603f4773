"""A simulated service for ``time_to_quorum.``: the REAL escalation code on a simulated clock.

40 reachable keyworkers and one requester, on a SQLite (or PostgreSQL) database. Each
run creates a request with ``create_request``, then replays time: the escalation clock
(``advance``) runs right after every answer and whenever a policy timer falls due (each
wave's ``voice_after`` and ``wave_interval``, and the deadline), as ``diveboat serve``'s
2-second loop would; queued messages are "delivered" at once (``claim_outbound`` +
``mark_sent``); people answer through ``record_sms_reply`` and ``record_keypress`` at
the moments their behaviour says. An urgent request is created with ``urgent=True`` and
advanced with the same service policy: the real code applies its urgent variant
(``policy_for_request``). Messages per quorum count everything queued for the
request: invitations, voice calls, confirmations, stand-downs. Runs are two hours apart, so
the ranking's fairness (fewest quorums served lately) rotates who is asked first.

Behaviour of each invitee (independent draws, the same per run and person for every
policy compared):

- SMS: replies with probability ``P_SMS`` = 0.6, after a lognormal delay with median
  2 min and sigma 1.0 (a long tail: 10% take over 7 min);
- a voice call to someone who has not answered is picked up with probability
  ``P_CALL`` = 0.5, after a lognormal 25 s (sigma 0.4). A person still silent at 3 min
  would otherwise reply with probability about 0.34; with the call it is about 0.67:
  voice doubles the chance for the silent ones;
- an answer is "join" with probability ``P_JOIN`` = 0.8, otherwise "can't";
- once the quorum is formed, nobody else answers (the stand-down reached them).

The call tree baseline is a coordinator phoning one person at a time, in the ranking
order, with the same draws: ring up to 30 s; a pick-up talks for 45 s, then joins or
declines; then the next person.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.models import AvailabilityWindow, Person, Role, Status
from roster.quorum.escalation import advance
from roster.quorum.handling import record_keypress, record_sms_reply
from roster.quorum.lifecycle import create_request
from roster.quorum.models import Invitation, MessageKind, OutboundMessage, QuorumRequest, RequestState
from roster.quorum.outbox import claim_outbound, mark_sent
from roster.quorum.policy import EscalationPolicy, policy_for_request

PEOPLE = 40
P_SMS, SMS_MEDIAN_S, SMS_SIGMA = 0.6, 120.0, 1.0
P_CALL, CALL_MEDIAN_S, CALL_SIGMA = 0.5, 25.0, 0.4
P_JOIN = 0.8
RING_OUT_S, TALK_S = 30.0, 45.0
RUN_SPACING = timedelta(hours=2)
START = datetime(2027, 3, 1, 8, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Behaviour:
    """How one person answers in one run."""

    replies_by_sms: bool
    sms_delay: timedelta
    joins: bool
    picks_up: bool
    pickup_delay: timedelta


@dataclass(frozen=True)
class Outcome:
    """One simulated request: minutes to form (None: not formed by the deadline), messages sent."""

    minutes: float | None
    messages: int


def behaviours(seed: int, run: int, people: int = PEOPLE) -> list[Behaviour]:
    """Each person's behaviour in run ``run`` (common random numbers across policies)."""
    rng = random.Random(f"{seed}:{run}")
    return [
        Behaviour(
            replies_by_sms=rng.random() < P_SMS,
            sms_delay=timedelta(seconds=SMS_MEDIAN_S * math.exp(SMS_SIGMA * rng.gauss(0, 1))),
            joins=rng.random() < P_JOIN,
            picks_up=rng.random() < P_CALL,
            pickup_delay=timedelta(seconds=CALL_MEDIAN_S * math.exp(CALL_SIGMA * rng.gauss(0, 1))),
        )
        for _ in range(people)
    ]


def populate(engine: sa.Engine) -> tuple[int, dict[str, int]]:
    """The requester and 40 keyworkers on duty for the whole simulation; returns
    (requester id, person index by phone)."""
    phones = [f"+447700900{100 + n:03d}" for n in range(PEOPLE + 1)]
    people = [{"id": n + 1, "name": f"Sim Worker{n:02d}", "phone": phone, "email": None, "role": Role.KEYWORKER.value,
               "employment": "full_time", "practice_stage": "qualified", "stage_date": None, "line_manager_id": None,
               "active": True, "sms_opt_out": False} for n, phone in enumerate(phones)]
    windows = [{"person_id": p["id"], "status": Status.ON_DUTY.value, "starts_at": START - timedelta(days=1),
                "ends_at": START + timedelta(days=400), "note": None, "created_at": START - timedelta(days=1)}
               for p in people]
    with engine.begin() as connection:
        connection.execute(sa.insert(Person.__table__), people)
        connection.execute(sa.insert(AvailabilityWindow.__table__), windows)
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT setval(pg_get_serial_sequence('person', 'id'), (SELECT max(id) FROM person))")
    return 1, {phone: n - 1 for n, phone in enumerate(phones) if n}


def simulate_policy(new_session: Callable[[], Session], requester_id: int, index_of: dict[str, int], *,
                    policy: EscalationPolicy, need: int, runs: int, seed: int, first_run: int = 0,
                    urgent: bool = False) -> list[Outcome]:
    """``runs`` requests (``urgent`` ones or not) under the service policy ``policy``, one
    after another on the same database."""
    return [
        _simulate_run(new_session, requester_id, index_of, policy, need, urgent, behaviours(seed, run),
                      START + RUN_SPACING * run)
        for run in range(first_run, first_run + runs)
    ]


def _simulate_run(new_session, requester_id, index_of, policy, need, urgent, people: list[Behaviour],
                  start: datetime) -> Outcome:
    deadline = start + timedelta(minutes=policy.deadline_minutes)
    queue = _Events()
    queue.push(deadline, "tick", None)
    with new_session() as session:
        request = create_request(session, requester_id, need=need, now=start, policy=policy, urgent=urgent)
        request_id, timers = request.id, policy_for_request(policy, request)
        _dispatch(session, start, index_of, people, queue)
        _schedule_timers(session, request_id, timers, queue)
        while queue:
            when, kind, payload = queue.pop()
            if when > deadline:
                break
            if kind == "sms":
                phone, body, sid = payload
                record_sms_reply(session, from_phone=phone, body=body, provider_sid=sid, received_at=when, policy=policy)
            elif kind == "keypress":
                invitation_id, digits, sid = payload
                record_keypress(session, call_sid=sid, digits=digits, invitation_id=invitation_id, received_at=when,
                                policy=policy)
            advance(session, now=when, policy=policy)
            _dispatch(session, when, index_of, people, queue)
            request = session.get(QuorumRequest, request_id, populate_existing=True)
            if request.state != RequestState.OPEN.value:
                break
            _schedule_timers(session, request_id, timers, queue)
        messages = session.exec(
            select(sa.func.count()).select_from(OutboundMessage).where(OutboundMessage.request_id == request_id)
        ).one()
        formed = request.state == RequestState.FORMED.value
        minutes = (request.formed_at - start).total_seconds() / 60 if formed else None
        return Outcome(minutes=minutes, messages=messages)


class _Events:
    """Simulated events in time order; timer ticks are scheduled once per moment."""

    def __init__(self) -> None:
        self._heap: list[tuple] = []
        self._order = itertools.count()
        self._ticks: set[datetime] = set()

    def push(self, when: datetime, kind: str, payload) -> None:
        if kind == "tick":
            if when in self._ticks:
                return
            self._ticks.add(when)
        heapq.heappush(self._heap, (when, next(self._order), kind, payload))

    def pop(self) -> tuple:
        when, _, kind, payload = heapq.heappop(self._heap)
        return when, kind, payload

    def __bool__(self) -> bool:
        return bool(self._heap)


def _schedule_timers(session: Session, request_id: int, policy: EscalationPolicy, queue: _Events) -> None:
    """Ticks when the request's policy timers fall due for the waves invited so far."""
    for created in set(session.exec(select(Invitation.created_at).where(Invitation.request_id == request_id))):
        queue.push(created + policy.voice_after, "tick", None)
        queue.push(created + policy.wave_interval, "tick", None)


def _dispatch(session: Session, now: datetime, index_of, people, queue: _Events) -> None:
    """Hand every queued message over at once; schedule the answers it will bring."""
    for message in claim_outbound(session, worker="simulation", limit=1000, now=now):
        sid = f"SIM{message.id:029d}"
        mark_sent(session, message.id, sid, now=now)
        person = index_of.get(message.to_phone)
        if person is None or message.invitation_id is None:
            continue
        behaviour = people[person]
        answer = "1" if behaviour.joins else "2"
        if message.kind == MessageKind.SMS.value and behaviour.replies_by_sms:
            queue.push(now + behaviour.sms_delay, "sms", (message.to_phone, answer, sid + "R"))
        elif message.kind == MessageKind.VOICE.value and behaviour.picks_up:
            queue.push(now + behaviour.pickup_delay, "keypress", (message.invitation_id, answer, "CA" + sid))


def call_tree(need: int, runs: int, seed: int, deadline_minutes: int) -> list[Outcome]:
    """A coordinator phoning one person at a time (same behaviour draws); calls per quorum."""
    outcomes = []
    for run in range(runs):
        people = behaviours(seed, run)
        order = random.Random(f"tree:{seed}:{run}").sample(range(PEOPLE), PEOPLE)
        clock, joined, calls = 0.0, 0, 0
        for person in order:
            if joined >= need or clock >= deadline_minutes * 60:
                break
            calls += 1
            behaviour = people[person]
            if behaviour.picks_up and behaviour.pickup_delay.total_seconds() < RING_OUT_S:
                clock += behaviour.pickup_delay.total_seconds() + TALK_S
                joined += behaviour.joins
            else:
                clock += RING_OUT_S
        formed = joined >= need and clock <= deadline_minutes * 60
        outcomes.append(Outcome(minutes=clock / 60 if formed else None, messages=calls))
    return outcomes
