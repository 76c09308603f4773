"""``quorum.fanout``: invitations per second through the real twilio client, 200 ms per request.

The fake Twilio answers every API request after 200 ms (a slow real-world round trip).
Sent one after another, 30 invitations would take 6 s; ``deliver_pending`` sends them
concurrently (at most ``DEFAULT_SEND_CONCURRENCY`` requests in flight), so its ceiling is
``DEFAULT_SEND_CONCURRENCY / 0.2 s`` invitations per second. Figures: the time to send the
first waves of three requests (30 invitations; limit: the round trips the concurrency
bound needs, 2 x 200 ms), and the rate for ten requests (100 invitations), also as a
share of that ceiling. The fake Twilio runs in its own process.

Run alone: ``python -m tests.bench.quorum_fanout [--quick]``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import select

from notify.dispatch import deliver_pending
from notify.twilio_client import make_client
from roster.db import session_factory
from roster.models import Person
from roster.quorum.lifecycle import create_request
from roster.quorum.store import queue_message
from roster.settings import DEFAULT_SEND_CONCURRENCY, Settings
from tests.bench.databases import backends, fresh_engine
from tests.bench.figures import Figure
from tests.bench.options import Options
from tests.notify.helpers import Clock, add_team

LATENCY = 0.2
NEED = 9  # first wave: need + 1 = 10 invitations per request


@contextmanager
def fake_twilio_process(latency: float = 0.0) -> Iterator[dict[str, str]]:
    """The fake Twilio in its own process (in ours it would compete for the GIL); yields its details."""
    process = subprocess.Popen([sys.executable, "-m", "tests.fake_twilio", str(latency)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        yield json.loads(process.stdout.readline())
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def twilio_settings(url: str, fake: dict[str, str], **more) -> Settings:
    return Settings(db=url, twilio_account_sid=fake["account_sid"], twilio_auth_token=fake["auth_token"],
                    twilio_from_number=fake["number"], twilio_api_url=fake["api_url"], **more)


def fan_out(backend: str, requests: int, latency: float = LATENCY) -> tuple[int, float]:
    """Create ``requests`` quorum requests, then time one delivery pass; returns (sent, seconds)."""
    with fresh_engine(backend) as (url, engine), fake_twilio_process(latency) as fake:
        new_session = session_factory(engine)
        clock = Clock()
        settings = twilio_settings(url, fake)
        with new_session() as session:  # warm up: the first send imports the twilio REST modules
            queue_message(session, to_phone="+447700900999", body="warm-up", request_id=None, now=clock())
            session.commit()
        deliver_pending(settings, new_session, now=clock())
        with new_session() as session:
            add_team(session, clock(), names=[f"Worker {n:03d}" for n in range(requests * 12)])
            requesters = list(session.exec(select(Person).order_by(Person.id).limit(requests)))
            for requester in requesters:
                create_request(session, requester.id, need=NEED, now=clock())
        started = time.perf_counter()
        report = deliver_pending(settings, new_session, now=clock())
        seconds = time.perf_counter() - started
        listed = make_client(settings).messages.list(from_=fake["number"], page_size=1000)
        assert report.sent == len(listed) - 1 == requests * (NEED + 1), report
        return report.sent, seconds


def run(options: Options) -> Iterator[Figure]:
    ceiling = DEFAULT_SEND_CONCURRENCY / LATENCY
    for backend in options.backends:
        sent, seconds = fan_out(backend, 3)
        round_trips = math.ceil(sent / DEFAULT_SEND_CONCURRENCY) * LATENCY  # the best concurrency allows
        yield Figure(f"quorum.fanout.{sent}_invitations_seconds.{backend}", seconds, "s", limit=round_trips, target=3)
        sent, seconds = fan_out(backend, options.pick(10, 5))
        yield Figure(f"quorum.fanout.invitations_per_second.{backend}", sent / seconds, "per s")
        yield Figure(f"quorum.fanout.share_of_ceiling.{backend}", sent / seconds / ceiling, "of ceiling")


if __name__ == "__main__":
    for figure in run(Options(quick="--quick" in sys.argv, backends=tuple(backends()))):
        print(figure.line(), flush=True)
