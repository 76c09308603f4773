"""The webhooks' database work, run off the event loop by a few dedicated threads.

SQLite lets one writer in at a time: with one thread per server, replies queue in
memory (woken as soon as the previous one commits) instead of sleeping in SQLite's
busy handler, and the event loop never waits on the database. PostgreSQL handles
several transactions at once, so it gets a few threads.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import sqlalchemy as sa

T = TypeVar("T")

POSTGRES_THREADS = 4


class DatabaseWorker:
    """Runs blocking database calls in its own threads; ``await worker.run(fn, *args)``."""

    def __init__(self, engine: sa.Engine) -> None:
        threads = 1 if engine.dialect.name == "sqlite" else POSTGRES_THREADS
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="diveboat-db")

    async def run(self, function: Callable[..., T], *args, **kwargs) -> T:
        """``function(*args, **kwargs)`` in a database thread; the event loop carries on meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(function, *args, **kwargs))

    def close(self) -> None:
        """Finish the calls in progress and stop the threads."""
        self._executor.shutdown(wait=True)
