"""``fanout.``: one quorum inviting 50 people through the real twilio client, 200 ms per request.

The fake Twilio (``python -m tests.fake_twilio``, its own process) answers each API
request after 200 ms. A request for 12 peers invites 13 at once; a second wave chosen
by the same ranking (``next_candidates`` + ``invite``) brings it to 50 queued
invitations. Timed from the start of one ``deliver_pending`` pass: ``handed_over``, until
Twilio has answered all 50 API requests (the last answer, seen by wrapping the send
function), and ``pass``, until the pass returns with every result recorded in the
database. Limit: one request's latency (200 ms), which a fully concurrent fan-out
approaches; target 1.5x. Measured with the product's concurrency bound
(``DEFAULT_SEND_CONCURRENCY``, 64) and, in full mode, with exactly 50 requests in flight;
then once more with the requests made by a sending process, as ``diveboat serve`` makes
them (``handed_over``: when the child reports every answer back; its results are then
recorded in one go, not as each answer arrives). The median of 5 fresh runs each (quick
mode: one).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack

from sqlmodel import select

from notify import sending
from notify.dispatch import deliver_pending, deliver_pending_async
from notify.sending import SendingProcess
from notify.twilio_client import make_client
from roster.db import session_factory
from roster.models import Person
from roster.quorum.candidates import next_candidates
from roster.quorum.invite import invite
from roster.quorum.lifecycle import create_request
from roster.quorum.store import queue_message
from roster.settings import DEFAULT_SEND_CONCURRENCY
from tests.bench.databases import fresh_engine
from tests.bench.figures import Figure
from tests.bench.options import Options
from tests.bench.processes import fake_twilio_process, twilio_settings
from tests.notify.helpers import Clock, add_team

LATENCY = 0.2
INVITED = 50
NEED = 12
TARGET = 1.5


def run(options: Options) -> Iterator[Figure]:
    repeats = options.pick(5, 1)
    for backend in options.backends:
        for concurrency in dict.fromkeys((DEFAULT_SEND_CONCURRENCY,) + options.pick((INVITED,), ())):
            runs = [fan_out(backend, concurrency) for _ in range(repeats)]
            handed_over = statistics.median(run[0] for run in runs)
            whole_pass = statistics.median(run[1] for run in runs)
            for name, seconds in (("handed_over", handed_over), ("pass", whole_pass)):
                yield Figure(f"fanout.{INVITED}_invitations.{name}.concurrency_{concurrency}.{backend}", seconds, "s",
                             limit=LATENCY, target=TARGET)
        runs = [fan_out(backend, DEFAULT_SEND_CONCURRENCY, in_child=True) for _ in range(repeats)]
        for index, name in enumerate(("handed_over", "pass")):
            yield Figure(f"fanout.{INVITED}_invitations.{name}.sending_process.{backend}",
                         statistics.median(run[index] for run in runs), "s", limit=LATENCY, target=TARGET)


def fan_out(backend: str, concurrency: int, *, in_child: bool = False) -> tuple[float, float]:
    """Seconds for one delivery pass to hand one quorum's 50 invitations to the fake Twilio,
    and for the whole pass (results recorded). ``in_child``: through a :class:`SendingProcess`,
    as ``diveboat serve`` sends (handed over when the child reports every answer back)."""
    with ExitStack() as stack:
        url, engine = stack.enter_context(fresh_engine(backend))
        fake = stack.enter_context(fake_twilio_process(LATENCY))
        new_session = session_factory(engine)
        clock = Clock()
        settings = twilio_settings(url, fake)
        process = stack.enter_context(SendingProcess(settings)) if in_child else None
        with new_session() as session:  # warm-up: the first send imports the twilio REST modules
            queue_message(session, to_phone="+447700900999", body="warm-up", request_id=None, now=clock())
            session.commit()
        deliver_pending(settings, new_session, now=clock(), sending=process)
        with new_session() as session:
            add_team(session, clock(), names=[f"Worker {n:03d}" for n in range(INVITED + 5)])
            requester = session.exec(select(Person).order_by(Person.id).limit(1)).one()
            request = create_request(session, requester.id, need=NEED, now=clock())
            wider = next_candidates(session, request, clock(), size=INVITED - NEED - 1)
            invite(session, request, wider, wave=2, now=clock())
            session.commit()
        answered: list[float] = []
        # in-process, each answer as it arrives; a child reports every answer back at once
        owner, name = (process, "attempt_all") if process is not None else (sending, "_send")
        untimed = getattr(owner, name)

        async def timed(*args, **kwargs):
            result = await untimed(*args, **kwargs)
            answered.append(time.perf_counter())
            return result

        setattr(owner, name, timed)
        try:
            started = time.perf_counter()
            report = asyncio.run(deliver_pending_async(settings, new_session, now=clock(), concurrency=concurrency,
                                                       sending=process))
            seconds = time.perf_counter() - started
        finally:
            setattr(owner, name, untimed)
        listed = make_client(settings).messages.list(from_=fake["number"], page_size=1000)
        if report.sent != INVITED or len(listed) != INVITED + 1:
            raise RuntimeError(f"expected {INVITED} invitations sent, got {report} and {len(listed) - 1} at Twilio")
        return max(answered) - started, seconds
