"""``reply_to_screen.``: from a webhook accepted to the quorum screen showing the answer.

A real ``diveboat serve`` (own process) and the real dashboard (headless, in this
process, Twilio configured like the server) share one database; the dashboard shows a
request on its quorum screen. Each sample posts one signed SMS reply ("2", then "1",
then "1", forming the quorum) to the server; the clock starts when the server has
answered 200 and stops when the screen's invitee table shows the new state. The screen
re-reads the request every ``refresh_seconds``, and at once when the cheap fingerprint it
checks every 0.25 s has changed. Limit: the refresh interval; target: the interval + 100 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator

import httpx
from sqlmodel import select
from twilio.request_validator import RequestValidator

from notify.dispatch import deliver_pending
from roster.db import session_factory
from roster.models import Person
from roster.quorum.lifecycle import create_request
from roster.quorum.models import Invitation
from tests.bench.databases import fresh_engine
from tests.bench.figures import Figure, ms
from tests.bench.options import Options
from tests.bench.processes import diveboat_serve, fake_twilio_process, twilio_settings
from tests.notify.helpers import Clock, add_team
from tui.app import create_app
from tui.screens.quorum import QuorumScreen
from tui.widgets.quorum_invitees import QuorumInvitees

ANSWERS = (("2", "declined"), ("1", "joined"), ("1", "joined"))
TIMEOUT = 30.0


def run(options: Options) -> Iterator[Figure]:
    requests = options.pick(7, 1)
    for backend in options.backends:
        latencies, refresh = measure(backend, requests)
        refresh_ms = ms(refresh)
        target = (refresh_ms + 100) / refresh_ms
        yield Figure(f"reply_to_screen.median.{backend}", ms(statistics.median(latencies)), "ms", limit=refresh_ms)
        yield Figure(f"reply_to_screen.max_of_{len(latencies)}.{backend}", ms(max(latencies)), "ms",
                     limit=refresh_ms, target=target)


def measure(backend: str, requests: int) -> tuple[list[float], float]:
    """Seconds from each reply's 200 to the screen showing it; and the refresh interval."""
    with fresh_engine(backend) as (url, engine), fake_twilio_process() as fake:
        new_session = session_factory(engine)
        clock = Clock()
        settings = twilio_settings(url, fake)
        with new_session() as session:
            add_team(session, clock(), names=[f"Worker {n:03d}" for n in range(requests * 4)])
            requesters = list(session.exec(select(Person).order_by(Person.id).limit(requests)))
            request_ids = [create_request(session, r.id, need=2, now=clock()).id for r in requesters]
            invitees = {
                request_id: list(session.exec(
                    select(Person.phone).join(Invitation, Invitation.person_id == Person.id)
                    .where(Invitation.request_id == request_id).order_by(Invitation.id)))
                for request_id in request_ids
            }
        deliver_pending(settings, new_session, now=clock())
        with diveboat_serve(url, fake) as server:
            app = create_app(settings, engine)
            latencies = asyncio.run(_drive(app, f"{server.url}/twilio/sms", fake, invitees))
        return latencies, settings.refresh_seconds


async def _drive(app, webhook: str, fake: dict, invitees: dict[int, list[str]]) -> list[float]:
    validator = RequestValidator(fake["auth_token"])
    latencies = []
    async with app.run_test(size=(130, 40)) as pilot, httpx.AsyncClient(timeout=30) as client:
        for request_id, phones in invitees.items():
            screen = QuorumScreen(request_id)
            await app.push_screen(screen)
            table = screen.query_one(QuorumInvitees)
            await _until(pilot, lambda: set(phones) <= {key.value for key in table.rows})
            for n, (phone, (body, word)) in enumerate(zip(phones, ANSWERS)):
                params = {"AccountSid": fake["account_sid"], "Body": body, "From": phone, "To": fake["number"],
                          "MessageSid": f"SM{request_id:016x}{n:016x}"}
                signature = validator.compute_signature(webhook, params)
                response = await client.post(webhook, data=params, headers={"X-Twilio-Signature": signature})
                if response.status_code != 200:
                    raise RuntimeError(f"the webhook answered {response.status_code}")
                accepted = time.perf_counter()
                await _until(pilot, lambda: word in table.get_cell(phone, "state").plain)
                latencies.append(time.perf_counter() - accepted)
            app.pop_screen()
    return latencies


async def _until(pilot, condition) -> None:
    deadline = time.perf_counter() + TIMEOUT
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError("the quorum screen did not show the reply in time")
        await asyncio.sleep(0.005)
