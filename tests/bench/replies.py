"""``quorum.replies``: signed SMS replies handled per second by ``diveboat serve``.

The real ``diveboat serve`` runs in its own process (uvicorn + escalation loop) against
a fake Twilio in a third process. Open requests each invite 13 people (need 12); every
invitee replies ``1`` through a signed webhook, 16 at a time, so each request forms on
its 12th join and its 13th reply is a late "already formed". Figures: replies per second
(all webhook answers back), and the time until every confirmation, stand-down and
"already formed" text the replies caused has been handed to Twilio.

Run alone: ``python -m tests.bench.replies [--quick]``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlmodel import select
from twilio.request_validator import RequestValidator

from notify.dispatch import deliver_pending
from roster.db import session_factory
from roster.models import Person
from roster.quorum.lifecycle import create_request
from roster.quorum.models import Invitation, QuorumRequest
from tests.bench.databases import backends, fresh_engine
from tests.bench.figures import Figure
from tests.bench.options import Options
from tests.bench.quorum_fanout import fake_twilio_process, twilio_settings
from tests.notify.helpers import Clock, add_team, unsent

NEED = 12
SENDERS = 16
COMMAND = [sys.executable, "-c", "from tui.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def diveboat_serve(url: str, fake: dict[str, str]) -> Iterator[str]:
    """``diveboat serve`` in its own process; yields its base URL once /healthz answers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TWILIO_ACCOUNT_SID": fake["account_sid"], "TWILIO_AUTH_TOKEN": fake["auth_token"],
           "TWILIO_FROM_NUMBER": fake["number"], "DIVEBOAT_TWILIO_API_URL": fake["api_url"], "DIVEBOAT_PUBLIC_URL": base}
    server = subprocess.Popen([*COMMAND, "--db", url, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("diveboat serve did not start")
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


async def post_all(url: str, token: str, replies: list[dict[str, str]]) -> list[int]:
    """POST every signed reply, ``SENDERS`` at a time; returns the status codes."""
    validator = RequestValidator(token)
    semaphore = asyncio.Semaphore(SENDERS)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=SENDERS)) as client:

        async def post(params: dict[str, str]) -> int:
            async with semaphore:
                headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
                return (await client.post(url, data=params, headers=headers)).status_code

        return await asyncio.gather(*(post(params) for params in replies))


def measure(backend: str, requests: int) -> tuple[int, float, float]:
    """Returns (replies, seconds until all answered, seconds until all their texts were sent)."""
    with fresh_engine(backend) as (url, engine), fake_twilio_process() as fake:
        new_session = session_factory(engine)
        clock = Clock()
        with new_session() as session:
            add_team(session, clock(), names=[f"Worker {n:03d}" for n in range(requests * (NEED + 2))])
            for requester in list(session.exec(select(Person).order_by(Person.id).limit(requests))):
                create_request(session, requester.id, need=NEED, now=clock())
            invitees = list(session.exec(select(Person.phone).join(Invitation, Invitation.person_id == Person.id)))
        deliver_pending(twilio_settings(url, fake), new_session, now=clock())
        replies = [{"AccountSid": fake["account_sid"], "Body": "1", "From": phone, "MessageSid": f"SM{n:032x}",
                    "To": fake["number"]} for n, phone in enumerate(invitees)]
        with diveboat_serve(url, fake) as base:
            started = time.perf_counter()
            codes = asyncio.run(post_all(f"{base}/twilio/sms", fake["auth_token"], replies))
            answered = time.perf_counter() - started
            while unsent(new_session):
                time.sleep(0.01)
            settled = time.perf_counter() - started
        assert codes == [200] * len(replies), sorted(set(codes))
        with new_session() as session:
            states = set(session.exec(select(QuorumRequest.state)))
        assert states == {"formed"}, states
        return len(replies), answered, settled


def run(options: Options) -> Iterator[Figure]:
    for backend in options.backends:
        replies, answered, settled = measure(backend, options.pick(20, 6))
        yield Figure(f"quorum.replies.per_second.{backend}", replies / answered, "per s")
        yield Figure(f"quorum.replies.{replies}_replies_texts_sent_seconds.{backend}", settled, "s")


if __name__ == "__main__":
    for figure in run(Options(quick="--quick" in sys.argv, backends=tuple(backends()))):
        print(figure.line(), flush=True)
