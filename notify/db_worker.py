"""The webhooks' database work, run off the event loop by dedicated threads.

SQLite lets one writer in at a time, so a server gets one database thread: work
queues in memory instead of sleeping in SQLite's busy handler, and SMS replies that
arrive together are recorded in one transaction with one commit (group commit);
should that fail, each is recorded on its own. The server's other writers (the
escalation clock, deliveries) take turns with it on an in-process lock
(:class:`SqliteWriters`), woken the moment a commit ends. PostgreSQL handles
transactions side by side: a few threads, one transaction per call.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from roster.db import READ_ONLY, SQLITE_BUSY_TIMEOUT_MS, SessionFactory
from roster.quorum.handling import ReplyOutcome, SmsReply, record_sms_replies, record_sms_reply
from roster.quorum.policy import EscalationPolicy

log = logging.getLogger(__name__)

POSTGRES_THREADS = 8
BATCH_LIMIT = 64


@dataclass
class _Job:
    """One call for the SQLite thread: ``action(session, **kwargs)``, or an SMS reply to batch."""

    future: asyncio.Future
    action: Callable[..., Any] | None = None
    kwargs: dict | None = None
    reply: SmsReply | None = None
    policy: EscalationPolicy | None = None


class DatabaseWorker:
    """Runs the webhooks' database calls in their own threads; the event loop awaits the results."""

    def __init__(self, engine: sa.Engine, new_session: SessionFactory) -> None:
        self._engine = engine
        self.new_session = new_session
        self._sqlite = engine.dialect.name == "sqlite"
        self._executor: ThreadPoolExecutor | None = None
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def run(self, action: Callable[..., Any], **kwargs) -> Any:
        """``action(session, **kwargs)`` in a new session, in a database thread."""
        if not self._sqlite:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool(), self._call, action, kwargs)
        return await self._submit(_Job(asyncio.get_running_loop().create_future(), action=action, kwargs=kwargs))

    async def record_sms_reply(self, reply: SmsReply, policy: EscalationPolicy) -> ReplyOutcome:
        """Record an SMS reply (batched with others on SQLite); see ``roster.quorum.record_sms_reply``.

        On PostgreSQL a join that may meet the quorum comes back with ``check_quorum`` set: the
        caller forms the request after answering (``roster.quorum.handling.form_after_join``)."""
        if not self._sqlite:
            return await self.run(record_sms_reply, from_phone=reply.from_phone, body=reply.body,
                                  provider_sid=reply.provider_sid, received_at=reply.received_at, policy=policy,
                                  form_quorum=False)
        return await self._submit(_Job(asyncio.get_running_loop().create_future(), reply=reply, policy=policy))

    async def warm_up(self, action: Callable[..., Any]) -> None:
        """Run ``action(session)`` in every database thread at once, each on a connection of its
        own (PostgreSQL), so the first replies find the connections open and each server
        backend's caches loaded; SQLite's one thread runs it once."""
        if self._sqlite:
            await self.run(action)
            return
        everyone_connected = threading.Barrier(POSTGRES_THREADS)

        def warm() -> None:
            try:  # this thread's own connection, held (whatever ``action`` rolls back) until each thread has one
                with self._engine.connect() as connection:
                    with Session(bind=connection, expire_on_commit=False) as session:
                        action(session)
                    everyone_connected.wait(timeout=30)
            except Exception:
                everyone_connected.abort()  # the others stop waiting: the server fails to start at once
                raise

        loop = asyncio.get_running_loop()
        results = await asyncio.gather(*(loop.run_in_executor(self._pool(), warm) for _ in range(POSTGRES_THREADS)),
                                       return_exceptions=True)
        failures = [result for result in results if isinstance(result, BaseException)]
        if failures:  # the cause, not the barrier the others were waiting at
            raise next((f for f in failures if not isinstance(f, threading.BrokenBarrierError)), failures[0])

    def close(self) -> None:
        """Finish the calls in progress and stop the threads."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=POSTGRES_THREADS, thread_name_prefix="diveboat-db")
            return self._executor

    def _call(self, action: Callable[..., Any], kwargs: dict) -> Any:
        with self.new_session() as session:
            return action(session, **kwargs)

    async def _submit(self, job: _Job) -> Any:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="diveboat-db", daemon=True)
                self._thread.start()
        self._jobs.put(job)
        return await job.future

    def _serve(self) -> None:
        """The SQLite thread: take what has queued up, replies in one transaction, the rest one by one."""
        while True:
            job = self._jobs.get()
            if job is None:
                return
            jobs = [job]
            while len(jobs) < BATCH_LIMIT:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._jobs.put(None)  # stop after this batch
                    break
                jobs.append(more)
            replies = [j for j in jobs if j.reply is not None]
            if replies:
                self._record_replies(replies)
            for other in (j for j in jobs if j.reply is None):
                self._finish(other, lambda other=other: self._call(other.action, other.kwargs))

    def _record_replies(self, jobs: list[_Job]) -> None:
        if len(jobs) > 1:
            try:
                with self.new_session() as session:
                    outcomes = record_sms_replies(session, [j.reply for j in jobs], policy=jobs[0].policy)
            except Exception:
                log.exception("a batch of %d replies failed; recording them one by one", len(jobs))
            else:
                for job, outcome in zip(jobs, outcomes, strict=True):
                    _resolve(job.future, outcome)
                return
        for job in jobs:
            reply = job.reply
            self._finish(job, lambda reply=reply, job=job: self._call(
                record_sms_reply, dict(from_phone=reply.from_phone, body=reply.body, provider_sid=reply.provider_sid,
                                       received_at=reply.received_at, policy=job.policy)))

    @staticmethod
    def _finish(job: _Job, call: Callable[[], Any]) -> None:
        try:
            result = call()
        except Exception as error:  # handed to the request that asked, which answers 500
            _resolve(job.future, error=error)
        else:
            _resolve(job.future, result)


def _resolve(future: asyncio.Future, result: Any = None, error: BaseException | None = None) -> None:
    """Complete ``future`` from a database thread (unless its request was abandoned meanwhile)."""

    def complete() -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    try:
        future.get_loop().call_soon_threadsafe(complete)
    except RuntimeError:  # the event loop has closed: nobody is waiting any more
        pass


class SqliteWriters:
    """One writing transaction at a time among this process's threads, on a lock taken before
    ``BEGIN IMMEDIATE`` and given back at commit or rollback.

    SQLite would serialise them anyway, but a writer that finds the file locked sleeps in
    SQLite's busy handler (1, 2, 5, 10 ... 100 ms) however soon the lock is free; a waiter
    on this lock wakes at once. Other processes (the dashboard) still meet SQLite's own
    lock; a wait here longer than SQLite's busy timeout gives up and lets SQLite decide.
    """

    _installed: weakref.WeakSet[sa.Engine] = weakref.WeakSet()

    @classmethod
    def install(cls, engine: sa.Engine) -> None:
        """Take turns on ``engine`` from now on (once per engine; SQLite only)."""
        if engine.dialect.name == "sqlite" and engine not in cls._installed:
            cls._installed.add(engine)
            cls(engine)

    def __init__(self, engine: sa.Engine) -> None:
        self._lock = threading.Lock()
        self._holder: object | None = None
        sa.event.listen(engine, "begin", self._begin, insert=True)  # before db.py emits BEGIN IMMEDIATE
        sa.event.listen(engine, "commit", self._end)
        sa.event.listen(engine, "rollback", self._end)
        sa.event.listen(engine.pool, "checkin", self._checked_in)  # a connection dropped mid-transaction

    def _begin(self, connection: sa.Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY, False):
            return
        if self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            self._holder = connection.connection.dbapi_connection

    def _end(self, connection: sa.Connection) -> None:
        self._release(connection.connection.dbapi_connection)

    def _checked_in(self, dbapi_connection, _record) -> None:
        self._release(dbapi_connection)

    def _release(self, dbapi_connection) -> None:
        if dbapi_connection is not None and self._holder is dbapi_connection:
            self._holder = None
            self._lock.release()
