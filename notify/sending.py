"""Twilio requests, made here or by a process of their own.

Each claimed outbound row becomes one Twilio request, and what came of it an
:class:`Attempt`: sent (Twilio's SID), refused for good (Twilio's error code), or
to retry later (Twilio busy or unreachable). :mod:`notify.dispatch` records attempts;
this module only makes them.

``diveboat serve`` makes them in a :class:`SendingProcess`: building and parsing
Twilio's requests costs about a millisecond of CPU a text, and the hundreds of texts a
burst of replies queues (confirmations, stand-downs, "already formed") would otherwise
take that time from the webhooks Twilio is waiting on. The child only talks to Twilio;
claiming rows and recording results stay with the server, so SQLite still sees one
writing process.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import AsyncExitStack
from dataclasses import dataclass

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from notify.heap import settle_heap
from notify.twilio_client import async_client
from notify.voice import conference_twiml, read_only_twiml
from roster.quorum.models import MessageKind
from roster.settings import Settings

log = logging.getLogger(__name__)

#: API answers that say "try again later", not "this recipient cannot be reached".
TRANSIENT_STATUSES = {401, 403, 429}
START_TIMEOUT_SECONDS = 60.0
PARENT_CHECK_SECONDS = 0.5


@dataclass(frozen=True)
class Outgoing:
    """A claimed outbound row: what to send, detached from its session (it crosses threads and processes)."""

    id: int
    kind: str
    to_phone: str
    body: str
    invitation_id: int | None
    room: str | None


@dataclass(frozen=True)
class Attempt:
    """What one Twilio request came to: ``sid`` (sent), ``error_code`` (refused for good) or
    ``problem`` (Twilio busy or unreachable: try again later)."""

    sid: str | None = None
    error_code: str | None = None
    problem: str | None = None


def status_callback_url(settings: Settings) -> str | None:
    return f"{settings.public_url.rstrip('/')}/twilio/status" if settings.public_url else None


def voice_url(settings: Settings, invitation_id: int) -> str:
    return f"{settings.public_url.rstrip('/')}/twilio/voice?invitation={invitation_id}"


def prepare_twilio_client() -> None:
    """Load the twilio library's message and call resources now (they load on first use, a
    tenth of a second), so the first delivery of a starting sender does not pay for it."""
    client = Client("AC" + "0" * 32, "not-used")
    client.messages, client.calls  # noqa: B018  (attribute access imports the resources)


async def _send(client: Client, settings: Settings, item: Outgoing) -> str:
    """One Twilio request for one row; returns the provider SID."""
    sender = settings.twilio_from_number
    if item.kind == MessageKind.SMS:
        message = await client.messages.create_async(
            to=item.to_phone, from_=sender, body=item.body, status_callback=status_callback_url(settings),
        )
        return message.sid
    if item.kind == MessageKind.CONFERENCE:
        call = await client.calls.create_async(to=item.to_phone, from_=sender, twiml=conference_twiml(item.body, item.room))
        return call.sid
    if settings.public_url and item.invitation_id is not None:
        call = await client.calls.create_async(
            to=item.to_phone, from_=sender, url=voice_url(settings, item.invitation_id),
            machine_detection="Enable", status_callback=status_callback_url(settings),
        )
    else:  # no webhook to gather keys: read the message and ask for an SMS reply
        call = await client.calls.create_async(to=item.to_phone, from_=sender, twiml=read_only_twiml(item.body))
    return call.sid


async def attempt(client: Client, settings: Settings, item: Outgoing) -> Attempt:
    """Send one row; Twilio's refusals and network errors become an :class:`Attempt`, not an exception."""
    try:
        return Attempt(sid=await _send(client, settings, item))
    except TwilioRestException as error:
        if error.status >= 500 or error.status in TRANSIENT_STATUSES:
            return Attempt(problem=f"Twilio answered {error.status} (code {error.code}); will retry")
        return Attempt(error_code=str(error.code))
    except (OSError, asyncio.TimeoutError) as error:  # aiohttp's errors are OSErrors
        return Attempt(problem=f"Twilio unreachable ({type(error).__name__}); will retry")


async def attempt_all(client: Client, settings: Settings, items: Sequence[Outgoing], concurrency: int,
                      on_attempt: Callable[[Outgoing, Attempt], None]) -> None:
    """Send ``items`` in order, ``concurrency`` at a time (that many senders take the next row in
    turn), calling ``on_attempt`` as each answer arrives.

    (Not a task per row behind a semaphore: with hundreds of rows waiting, Python 3.11's
    ``Semaphore`` rescans its waiters on every acquire, a tenth of a pass's CPU.)"""
    rows = iter(items)

    async def sender() -> None:
        for item in rows:
            on_attempt(item, await attempt(client, settings, item))

    await asyncio.gather(*(sender() for _ in range(min(concurrency, len(items)))))


class SendingProcess:
    """A child process that makes the Twilio requests of ``diveboat serve`` (see the module docstring).

    :meth:`submit` hands it a batch of rows and returns a future of their attempts, in
    order; the child keeps one event loop and one Twilio connection pool for its life.
    Should the child die, the batch it held comes back as attempts to retry (the rows stay
    claimed and are sent again once their claim expires) and the next batch starts a new one.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pid: int | None = None  # the child's process id, once started
        self._pool: ProcessPoolExecutor | None = None
        self._restarting = threading.Lock()

    def start(self) -> SendingProcess:
        """Start the child and wait until it is ready to send (its imports done)."""
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start_child, initargs=(self.settings,))
        self.pid = self._pool.submit(os.getpid).result(timeout=START_TIMEOUT_SECONDS)
        return self

    def submit(self, items: Sequence[Outgoing], concurrency: int) -> Future:
        """Send ``items`` in the child, ``concurrency`` requests in flight; a future of ``list[Attempt]``."""
        pool = self._pool
        if pool is None:
            raise RuntimeError("the sending process is not started")
        try:
            return pool.submit(_attempt_in_child, list(items), concurrency)
        except BrokenProcessPool:  # the child died after its last batch: a new one for this batch
            with self._restarting:  # the clock's thread and the webhooks' loop may both find it so
                if self._pool is pool:  # nobody has started a new one meanwhile
                    log.error("the sending process had stopped; starting a new one")
                    pool.shutdown(wait=False)
                    self.start()
            return self._pool.submit(_attempt_in_child, list(items), concurrency)

    async def attempt_all(self, items: Sequence[Outgoing], concurrency: int) -> list[Attempt]:
        """:meth:`submit`, awaited; a child that died with the batch gives attempts to retry."""
        try:
            return await asyncio.wrap_future(self.submit(items, concurrency))
        except BrokenProcessPool:
            log.error("the sending process stopped while sending %d messages; they will be sent again", len(items))
            return [Attempt(problem="the sending process stopped; will retry")] * len(items)

    def close(self) -> None:
        """Let the batch under way finish, then stop the child."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> SendingProcess:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.close()


# The child's side: its settings, event loop and Twilio client live as long as the process.
_child: dict = {}


def _start_child(settings: Settings) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the terminal is the server's to handle
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="diveboat-parent-watch", daemon=True).start()
    prepare_twilio_client()
    settle_heap()
    _child.update(settings=settings, loop=asyncio.new_event_loop(), resources=AsyncExitStack())
    atexit.register(_close_child)


def _exit_with_parent(parent: int) -> None:
    """End the child once its server has gone, however it went (uvicorn ends on SIGTERM by
    re-raising it, which skips the server's own clean-up)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _attempt_in_child(items: list[Outgoing], concurrency: int) -> list[Attempt]:
    loop: asyncio.AbstractEventLoop = _child["loop"]
    return loop.run_until_complete(_attempt_batch(items, concurrency))


async def _attempt_batch(items: list[Outgoing], concurrency: int) -> list[Attempt]:
    settings: Settings = _child["settings"]
    if "client" not in _child:  # made inside the loop (aiohttp binds to it), kept for later batches
        _child["client"] = await _child["resources"].enter_async_context(
            async_client(settings, connections=settings.send_concurrency))
    attempts: dict[int, Attempt] = {}
    await attempt_all(_child["client"], settings, items, concurrency,
                      lambda item, result: attempts.__setitem__(item.id, result))
    return [attempts[item.id] for item in items]


def _close_child() -> None:
    _child["loop"].run_until_complete(_child["resources"].aclose())
    _child["loop"].close()
