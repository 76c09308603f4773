"""``replies.``: signed SMS webhooks at a steady 200 per second into ``diveboat serve``.

Full mode: 30 s (quick: 3 s). Open loop: request ``i`` is sent at ``start + i / 200`` s whether or not earlier ones
were answered, and its latency is counted from that scheduled moment (a server that
falls behind shows it). The same signed requests go, in the same run, to a bare ASGI
endpoint under uvicorn that reads the body and answers empty TwiML: the limit. SQLite
runs ``diveboat serve``; PostgreSQL runs ``diveboat serve --workers 2`` (two server processes
on one port, each connection accepted by one of them), with the escalation clock running
and texts going to the fake Twilio.

The replies come from the invitees of 30 open requests (quick: 6; 13 invitees each): joins, declines, late
answers after a quorum formed, and 5% re-deliveries of an earlier MessageSid (Twilio
retries). Afterwards every distinct MessageSid must be stored exactly once: none lost,
none counted twice. Answers other than 200 are counted (a 500 is a reply Twilio will
not re-send). Target: p99 within 5x the bare endpoint's.

Where the time goes, in the same run: the CPU the server (its workers and sending processes)
spend per reply against the bare endpoint's per request, and how many of the machine's
cores were busy, on average and in the busiest second (the load generator, the fake
Twilio and the database share the same cores), and the CPU the load generator itself spent
per request (it stands in for Twilio, whose CPU is not on our machine; see
:mod:`tests.bench.http_load`). And where the slowest 1% of replies (those at or beyond the
p99) spent their time, from the ``Server-Timing`` header each webhook answer carries (the
mean of each part beside their mean latency, so the ratios add up to 1): waiting for their
database work (queueing for the database thread included), the rest of the handler (form,
signature, answer), and before the handler ran (the connection waiting to be read while the
event loop was busy, the network).

Full mode also draws where the p99 comes from, :data:`PLOT`: each half second's p50 and
p99 through the run, on both databases, beside the limit (5x the bare endpoint's p99).
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import httpx
from sqlmodel import select
from twilio.request_validator import RequestValidator

from notify.dispatch import deliver_pending
from roster.db import session_factory
from roster.models import Person
from roster.quorum.lifecycle import create_request
from roster.quorum.models import InboundMessage, Invitation
from tests.bench.cpu import MachineLoad, machine_load, process_cpu_seconds
from tests.bench.databases import checkpoint, fresh_engine
from tests.bench.figures import Figure, ms, percentile
from tests.bench.http_load import Connections, HttpError, encode_post
from tests.bench.options import Options
from tests.bench.processes import (
    Server, diveboat_serve, fake_twilio_process, free_port, twilio_settings, wait_until_answering,
)
from tests.notify.helpers import Clock, add_team

try:
    from uvloop import new_event_loop as NEW_EVENT_LOOP
except ImportError:  # Windows
    NEW_EVENT_LOOP = asyncio.new_event_loop

RATE = 200
NO_ANSWER = 0  # the status counted for a request whose connection broke before any answer
NEED = 12
RETRY_EVERY = 20  # every 20th request re-delivers an earlier MessageSid
P99_TARGET = 5.0
#: A run's bursts come first: every request's joins, then the texts of 30 quorums formed at
#: once. The p99 of the requests due after this many seconds is reported too (full mode).
AFTER_BURSTS_SECONDS = 8
PLOT = Path(__file__).with_name("replies_timeline.png")
PLOT_BUCKET_SECONDS = 0.5
BARE_APP = """
import sys, uvicorn
BODY = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
async def app(scope, receive, send):
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/xml"), (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="off", access_log=False)
"""


def run(options: Options) -> Iterator[Figure]:
    seconds, requests = options.pick((30, 30), (3, 6))
    timelines = {}
    for backend in options.backends:
        workers = 1 if backend == "sqlite" else 2
        result = measure(backend, workers, RATE * seconds, requests)
        timelines[f"{backend}, {workers} worker{'s' if workers > 1 else ''}"] = result
        name = f"replies.{RATE}_per_s.{workers}_worker{'s' if workers > 1 else ''}"
        yield Figure(f"{name}.bare_endpoint.p50.{backend}", ms(result["bare_p50"]), "ms")
        yield Figure(f"{name}.bare_endpoint.p99.{backend}", ms(result["bare_p99"]), "ms")
        yield Figure(f"{name}.p50.{backend}", ms(result["p50"]), "ms", limit=ms(result["bare_p50"]))
        yield Figure(f"{name}.p99.{backend}", ms(result["p99"]), "ms", limit=ms(result["bare_p99"]), target=P99_TARGET)
        if seconds > AFTER_BURSTS_SECONDS:
            yield Figure(f"{name}.p99_after_{AFTER_BURSTS_SECONDS}_s.{backend}", ms(result["p99_after_bursts"]), "ms",
                         limit=ms(result["bare_p99"]))
        yield Figure(f"{name}.slowest_1pct.latency.{backend}", ms(result["slowest_latency"]), "ms")
        for part in ("database", "rest_of_handler", "before_handler"):  # their ratios add up to 1
            yield Figure(f"{name}.slowest_1pct.{part}.{backend}", ms(result[f"slowest_{part}"]), "ms",
                         limit=ms(result["slowest_latency"]))
        yield Figure(f"{name}.throughput.{backend}", result["throughput"], "per s", limit=RATE)
        yield Figure(f"{name}.error_answers.{backend}", result["errors"], "replies")
        yield Figure(f"{name}.lost_or_double_counted.{backend}", result["wrong"], "replies")
        yield Figure(f"{name}.bare_endpoint.cpu_per_request.{backend}", ms(result["bare_cpu"]), "ms")
        yield Figure(f"{name}.server_cpu_per_reply.{backend}", ms(result["cpu"]), "ms", limit=ms(result["bare_cpu"]))
        yield Figure(f"{name}.load_generator.cpu_per_request.{backend}", ms(result["generator_cpu"]), "ms")
        cores = os.cpu_count()
        for label, load in (("bare_endpoint.machine_busy", result["bare_load"]), ("machine_busy", result["load"])):
            yield Figure(f"{name}.{label}.mean.{backend}", load.mean_cores, "cores", limit=cores)
            yield Figure(f"{name}.{label}.busiest_second.{backend}", load.busiest_second_cores, "cores", limit=cores)
    if not options.quick:
        draw(timelines)


def measure(backend: str, workers: int, total: int, requests: int) -> dict:
    with fresh_engine(backend) as (url, engine), fake_twilio_process() as fake:
        new_session = session_factory(engine)
        clock = Clock()
        with new_session() as session:
            add_team(session, clock(), names=[f"Worker {n:03d}" for n in range(requests * (NEED + 2))])
            for requester in list(session.exec(select(Person).order_by(Person.id).limit(requests))):
                create_request(session, requester.id, need=NEED, now=clock())
            invitees = list(session.exec(select(Person.phone).join(Invitation, Invitation.person_id == Person.id)))
        deliver_pending(twilio_settings(url, fake), new_session, now=clock())
        replies = _replies(fake, invitees, total)
        checkpoint(engine)  # PostgreSQL: no timed checkpoint in the next five minutes
        with bare_endpoint() as bare:
            (bare_answered, _), bare_cpu, bare_load = _timed([bare.pid], lambda: steady(bare.url, fake["auth_token"], replies))
        with diveboat_serve(url, fake, workers=workers) as server:
            sms_url = f"{server.url}/twilio/sms"
            started = time.perf_counter()
            generator_started = time.process_time()
            (answered, errors), cpu, load = _timed([server.pid], lambda: steady(sms_url, fake["auth_token"], replies))
            elapsed = time.perf_counter() - started
            generator_cpu = time.process_time() - generator_started
        with new_session() as session:
            stored = list(session.exec(select(InboundMessage.provider_sid)))
        sent = {params["MessageSid"] for params in replies}
        wrong = len(sent.symmetric_difference(stored)) + (len(stored) - len(set(stored)))
        bare_latencies = [answer.latency for answer in bare_answered]
        latencies = [answer.latency for answer in answered]
        after_bursts = [answer.latency for answer in answered if answer.due >= AFTER_BURSTS_SECONDS]
        p99 = percentile(latencies, 0.99)
        slowest = [answer for answer in answered if answer.latency >= p99]
        return {
            "bare_p50": percentile(bare_latencies, 0.5), "bare_p99": percentile(bare_latencies, 0.99),
            "p50": percentile(latencies, 0.5), "p99": p99,
            "slowest_latency": statistics.fmean(a.latency for a in slowest),
            "slowest_database": statistics.fmean(a.database for a in slowest),
            "slowest_rest_of_handler": statistics.fmean(a.handler - a.database for a in slowest),
            "slowest_before_handler": statistics.fmean(a.latency - a.handler for a in slowest),
            "p99_after_bursts": percentile(after_bursts, 0.99),
            "throughput": len(latencies) / elapsed, "wrong": wrong, "errors": len(errors),
            "bare_cpu": bare_cpu / total, "cpu": cpu / total, "bare_load": bare_load, "load": load,
            "generator_cpu": generator_cpu / total,
            "answered": answered, "cycle_seconds": len(invitees) / RATE,
        }


#: What the replies of each of the first passes over the invitees are (see :func:`_replies`); later passes repeat the last three.
PASSES = ("joins: the quorums form", 'every invitee sends "2"', 'every invitee sends "1"', 'every invitee sends "1 thanks"')


def draw(timelines: dict[str, dict]) -> None:
    """Each half second's p50 and p99 through the run, per database, with the limit the p99
    is held to (5x the bare endpoint's) and what the replies were at the time."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import FuncFormatter

    figure, axis = pyplot.subplots(figsize=(11, 5.6))
    colours = iter(("tab:blue", "tab:orange", "tab:green"))
    cycle = next(iter(timelines.values()))["cycle_seconds"]
    end = max(answer.due for result in timelines.values() for answer in result["answered"])
    start, index = 0.0, 0
    while start < end:
        axis.axvspan(start, min(start + cycle, end), color="grey", alpha=0.13 if index % 2 == 0 else 0.04, linewidth=0)
        if index < len(PASSES):
            axis.text(start + 0.1, 0.97, PASSES[index], transform=axis.get_xaxis_transform(),
                      fontsize=7, va="top", rotation=90, color="dimgrey")
        start, index = start + cycle, index + 1
    for label, result in timelines.items():
        colour = next(colours)
        buckets: dict[int, list[float]] = {}
        for answer in result["answered"]:
            buckets.setdefault(int(answer.due / PLOT_BUCKET_SECONDS), []).append(answer.latency)
        times = [(key + 0.5) * PLOT_BUCKET_SECONDS for key in sorted(buckets)]
        for fraction, style in ((0.5, ":"), (0.99, "-")):
            values = [ms(percentile(buckets[key], fraction)) for key in sorted(buckets)]
            axis.plot(times, values, style, color=colour, linewidth=1.4,
                      label=f"{label}: p{round(fraction * 100)} of each {PLOT_BUCKET_SECONDS:g} s")
        axis.axhline(ms(result["bare_p99"]) * P99_TARGET, color=colour, linestyle="--", linewidth=1, alpha=0.8,
                     label=f"{label}: limit, {P99_TARGET:g}x the bare endpoint's p99 ({ms(result['bare_p99']):.2f} ms)")
        axis.axhline(ms(result["p99"]), color=colour, linestyle="-.", linewidth=0.8, alpha=0.6,
                     label=f"{label}: the whole run's p99 ({ms(result['p99']):.1f} ms)")
    axis.set_yscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    axis.yaxis.set_major_formatter(plain)
    axis.yaxis.set_minor_formatter(plain)
    axis.tick_params(axis="y", which="minor", labelsize=7)
    axis.set_xlim(0, end)
    axis.set_xlabel("seconds into the run (200 signed SMS webhooks a second)")
    axis.set_ylabel("latency, ms (log scale)")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    figure.suptitle(f"Reply webhooks: where the p99 comes from (shaded: each pass over the {round(cycle * RATE)} invitees)",
                    fontsize=10)
    figure.tight_layout()
    figure.savefig(PLOT, dpi=110)
    pyplot.close(figure)


def _timed(pids: list[int], make_run) -> tuple[object, float, MachineLoad]:
    """Run the coroutine ``make_run()`` makes (on uvloop, as the servers run, where installed);
    returns its result, the CPU seconds the processes ``pids`` (with their children) spent
    meanwhile, and the machine's load meanwhile."""
    before = process_cpu_seconds(pids)
    with machine_load() as machine, asyncio.Runner(loop_factory=NEW_EVENT_LOOP) as runner:
        result = runner.run(make_run())
    return result, process_cpu_seconds(pids) - before, machine


def _replies(fake: dict, invitees: list[str], total: int) -> list[dict[str, str]]:
    replies = []
    for n in range(total):
        phone = invitees[n % len(invitees)]
        body = ("1", "2", "1", "1 thanks")[(n // len(invitees)) % 4]
        sid = f"SM{(n - 7 if n % RETRY_EVERY == RETRY_EVERY - 1 else n):032x}"
        replies.append({"AccountSid": fake["account_sid"], "Body": body, "From": phone, "MessageSid": sid,
                        "To": fake["number"]})
    return replies


@contextmanager
def bare_endpoint() -> Iterator[Server]:
    """A do-nothing ASGI app under uvicorn in its own process; yields its URL and process id."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}/twilio/sms"
    try:
        wait_until_answering(server, lambda: httpx.post(url, timeout=1).status_code == 200, "the bare endpoint")
        yield Server(url, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


class Answered(NamedTuple):
    """A request answered 200: when it was due (seconds into the run), its latency counted from
    then, and what its answer's ``Server-Timing`` said (seconds; None from the bare endpoint):
    the webhook's wait for its database work, and its whole time in the handler."""

    due: float
    latency: float
    database: float | None
    handler: float | None


async def steady(url: str, token: str, replies: list[dict[str, str]]) -> tuple[list[Answered], list[int]]:
    """POST ``replies`` at ``RATE`` per second (open loop, through the lean client of
    :mod:`tests.bench.http_load`, so the generator takes little of the machine it measures);
    returns each 200 answer (:class:`Answered`), and the status codes of the others (0: no answer).

    The generator's own garbage collector is paused while it sends (for the bare endpoint
    and the servers alike): a full collection of its heap takes 80-115 ms, which would
    otherwise be counted as the server's latency."""
    validator = RequestValidator(token)
    prepared = [encode_post(url, params, {"X-Twilio-Signature": validator.compute_signature(url, params)})
                for params in replies]
    answered: list[Answered] = []
    errors: list[int] = []
    connections = Connections(url)

    async def post(request: bytes, due: float) -> None:
        try:
            answer = await connections.send(request)
        except (HttpError, OSError):
            errors.append(NO_ANSWER)
            return
        if answer.status != 200:
            errors.append(answer.status)
            return
        database, handler = (answer.timings.get(part) for part in ("db", "app"))
        answered.append(Answered(due - start, time.perf_counter() - due, database and database / 1000,
                                 handler and handler / 1000))

    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        start = time.perf_counter() + 0.2
        tasks = []
        for n, request in enumerate(prepared):
            due = start + n / RATE
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(post(request, due)))
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    finally:
        gc.enable()
        gc.unfreeze()
        await connections.close()
    return answered, errors
