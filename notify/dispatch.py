"""Send the outbox through Twilio, concurrently, without ever sending a row twice.

roster decides what to send (queued :class:`OutboundMessage` rows); this module only
moves bytes: it claims rows (``claim_outbound`` makes concurrent senders safe), sends
them at once with the twilio library's async client (at most ``settings.send_concurrency``
requests in flight, ``DIVEBOAT_SEND_CONCURRENCY``), here or in a
:class:`~notify.sending.SendingProcess`, and records the results as they come back.
Without Twilio credentials the claimed rows are marked ``outbox`` and stay visible in
the dashboard.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from roster.db import SessionFactory
from roster.quorum.models import MessageKind, QuorumRequest
from roster.quorum.outbox import (
    anything_to_claim, claim_outbound, describe_twilio_error, mark_failed, mark_outbox, mark_sent_many,
)
from roster.settings import Settings
from roster.timeutil import utcnow
from notify.sending import Attempt, Outgoing, SendingProcess, attempt_all
from notify.twilio_client import async_client, twilio_configured

log = logging.getLogger(__name__)

CLAIM_LIMIT = 200
#: How long a webhook's delivery pass waits for the texts of the replies right behind it.
GATHER_SECONDS = 0.05
MAX_PASSES = 5


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    sent: int = 0
    failed: int = 0
    outbox: int = 0
    retry_later: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.outbox + self.retry_later


def worker_name() -> str:
    """A name for this sender in ``claimed_by``: host, process and a random part."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def conference_room(request: QuorumRequest) -> str:
    return request.conference_name or f"diveboat-quorum-{request.id}"


def _claim(session: Session, *, worker: str, limit: int, now: datetime | None) -> list[Outgoing]:
    rows = claim_outbound(session, worker=worker, limit=limit, now=now)
    rooms = {}
    for row in rows:
        if row.kind == MessageKind.CONFERENCE and row.request_id is not None:
            request = session.get(QuorumRequest, row.request_id)
            rooms[row.id] = conference_room(request) if request else f"diveboat-quorum-{row.request_id}"
    return [Outgoing(row.id, row.kind, row.to_phone, row.body, row.invitation_id, rooms.get(row.id)) for row in rows]


#: ``run(action, **kwargs)``: ``action(session, **kwargs)`` in a new session, off the event loop.
DatabaseRunner = Callable[..., Awaitable[Any]]


def in_threads(new_session: SessionFactory) -> DatabaseRunner:
    """A :data:`DatabaseRunner` on asyncio's default threads."""

    async def run(action: Callable[..., Any], **kwargs) -> Any:
        def call() -> Any:
            with new_session() as session:
                return action(session, **kwargs)

        return await asyncio.to_thread(call)

    return run


class _Recorder:
    """Records send results one batch at a time, as they arrive.

    Concurrent writers would only queue for SQLite's write lock (and sleep in its busy
    handler); one writer keeps each result's commit close to its request, so a crash
    leaves at most the current batch to be re-sent when its claim expires. Accepted
    messages are marked in one go (``mark_sent_many``), failures one by one.
    """

    def __init__(self, run: DatabaseRunner, now: datetime | None) -> None:
        self.run = run
        self.now = now
        self._sent: list[tuple[int, str]] = []
        self._failed: list[tuple[int, str, str]] = []
        self._task: asyncio.Task | None = None

    def sent(self, message_id: int, sid: str) -> None:
        self._sent.append((message_id, sid))
        self._wake()

    def failed(self, message_id: int, code: str, words: str) -> None:
        self._failed.append((message_id, code, words))
        self._wake()

    def _wake(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while self._sent or self._failed:
            sent, self._sent = self._sent, []
            failed, self._failed = self._failed, []
            await self.run(_write_results, sent=sent, failed=failed, now=self.now)

    async def finish(self) -> None:
        while self._task is not None and not self._task.done():
            await self._task


def _write_results(session: Session, *, sent: list[tuple[int, str]], failed: list[tuple[int, str, str]],
                   now: datetime | None) -> None:
    try:
        mark_sent_many(session, sent, now=now)
    except Exception:  # the rows stay claimed and are sent again once the claim expires
        session.rollback()
        log.exception("could not record %d sent messages", len(sent))
    for message_id, code, words in failed:
        try:
            mark_failed(session, message_id, code, words, now=now)
        except Exception:  # one bad row must not keep the others unrecorded
            session.rollback()
            log.exception("could not record a send result for outbound message %s", message_id)


def _apply(item: Outgoing, result: Attempt, report: DeliveryReport, recorder: _Recorder) -> None:
    """Count one attempt and hand it to the recorder (a row to retry stays claimed until its claim expires)."""
    if result.problem is not None:
        report.retry_later += 1
        report.problems.append(result.problem)
    elif result.error_code is not None:
        recorder.failed(item.id, result.error_code, describe_twilio_error(result.error_code))
        report.failed += 1
    else:
        recorder.sent(item.id, result.sid)
        report.sent += 1


async def deliver_pending_async(settings: Settings, new_session: SessionFactory, *, worker: str | None = None,
                                now: datetime | None = None, limit: int = CLAIM_LIMIT,
                                concurrency: int | None = None, sending: SendingProcess | None = None,
                                database: DatabaseRunner | None = None) -> DeliveryReport:
    """Claim queued messages and send them concurrently (or mark them ``outbox``), at most
    ``concurrency`` (``settings.send_concurrency`` by default) Twilio requests in flight,
    from this process or, given one, from ``sending``. The claims and results are written
    through ``database`` (default: asyncio's threads; a server passes its database threads).

    A failed invitation is replaced at once by the roster, which queues a new one:
    such follow-ups are sent in further passes (at most ``MAX_PASSES``).
    """
    report = DeliveryReport()
    worker = worker or worker_name()
    concurrency = concurrency or settings.send_concurrency
    run = database or in_threads(new_session)
    for _ in range(MAX_PASSES):
        items = await run(_claim, worker=worker, limit=limit, now=now)
        if not items:
            break
        if not twilio_configured(settings):
            await run(mark_outbox, message_ids=[item.id for item in items], now=now)
            report.outbox += len(items)
            continue
        failed_before = report.failed
        recorder = _Recorder(run, now)
        if sending is not None:
            for item, result in zip(items, await sending.attempt_all(items, concurrency), strict=True):
                _apply(item, result, report, recorder)
        else:
            async with async_client(settings, connections=concurrency) as client:
                await attempt_all(client, settings, items, concurrency,
                                  lambda item, result: _apply(item, result, report, recorder))
        await recorder.finish()
        if report.failed == failed_before and len(items) < limit:
            break
    for problem in sorted(set(report.problems)):
        log.warning("delivery: %s", problem)
    return report


def deliver_pending(settings: Settings, new_session: SessionFactory, *, worker: str | None = None,
                    now: datetime | None = None, limit: int = CLAIM_LIMIT,
                    sending: SendingProcess | None = None) -> DeliveryReport:
    """Blocking wrapper of :func:`deliver_pending_async`; call it from a thread, not an event loop.

    With nothing to send (the escalation clock's usual turn) it returns after one read,
    without starting an event loop and its threads."""
    with new_session() as session:
        if not anything_to_claim(session, now=now):
            return DeliveryReport()
    return asyncio.run(deliver_pending_async(settings, new_session, worker=worker, now=now, limit=limit,
                                             sending=sending))


class DeliveryKicker:
    """Coalesces "deliver now" requests on the server's event loop: one pass at a time, one
    more if kicked meanwhile.

    A pass starts ``gather_seconds`` after its kick, so the texts a burst of replies queues
    go out together: one claim, one Twilio connection pool and one result batch instead of
    a pass per reply. The pass runs on the loop that answers the webhooks, its database work
    through ``database`` (a server's database threads: on SQLite the one thread that records
    replies, so claims and replies take turns instead of contending for the interpreter and
    the write lock), and its Twilio requests in ``sending`` when given (``diveboat serve``), so
    the CPU they take is not the webhooks'; without one they run on the loop too, which
    interleaves them with the webhooks at every ``await`` (a sending thread would keep the
    interpreter from them for up to its switch interval, 5 ms, at a time).
    """

    def __init__(self, settings: Settings, new_session: SessionFactory, *,
                 clock: Callable[[], datetime] = utcnow, gather_seconds: float = GATHER_SECONDS,
                 sending: SendingProcess | None = None, database: DatabaseRunner | None = None) -> None:
        self.settings = settings
        self.new_session = new_session
        self.sending = sending
        self.database = database
        self.clock = clock
        self.gather_seconds = gather_seconds
        self.worker = worker_name()
        self._running = False
        self._again = False

    async def kick(self) -> None:
        """Deliver pending messages; returns at once if the pass under way will pick them up."""
        self._again = True
        if self._running:
            return
        self._running = True
        try:
            while self._again:
                await asyncio.sleep(self.gather_seconds)
                self._again = False
                try:
                    await deliver_pending_async(self.settings, self.new_session, worker=self.worker, now=self.clock(),
                                                sending=self.sending, database=self.database)
                except Exception:  # never lose the webhook answer over a delivery problem
                    log.exception("delivery after a webhook failed; the escalation loop will retry")
        finally:
            self._running = False
