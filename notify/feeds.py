"""Calendar feeds: ``GET /calendar/<token>.ics`` for a person's or a team's supervision.

One secret token per person or team (see :mod:`roster.supervision.tokens`). A wrong
or revoked token gets the same bare 404 as any unknown path. Responses carry ``ETag``
and ``Last-Modified`` and answer ``304`` when unchanged. Rendering runs in a worker
thread, and rendered feeds are cached until the plan version (or the day) changes.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from email.utils import format_datetime, parsedate_to_datetime

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from roster.db import read_session
from roster.ical import EventChunks
from roster.supervision.calendars import subject_calendar
from roster.supervision.state import plan_version
from roster.supervision.tokens import resolve_token
from roster.timeutil import LONDON, UTC, local_datetime, utcnow

CACHE_ENTRIES = 512
MEDIA_TYPE = "text/calendar; charset=utf-8"
FEED_PATH = re.compile(r"/calendar/[^/?\s]+\.ics")
REDACTED_PATH = "/calendar/<token>.ics"


class RedactFeedTokens(logging.Filter):
    """Keeps feed tokens (secrets) out of access logs: ``/calendar/<token>.ics``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(FEED_PATH.sub(REDACTED_PATH, a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = FEED_PATH.sub(REDACTED_PATH, record.msg)
        return True


def redact_access_log(logger_name: str = "uvicorn.access") -> None:
    """Install :class:`RedactFeedTokens` on the server's access log (once)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactFeedTokens) for f in logger.filters):
        logger.addFilter(RedactFeedTokens())


@dataclass(frozen=True)
class RenderedFeed:
    body: bytes
    etag: str
    last_modified: datetime


class FeedCache:
    """Rendered feeds keyed by (subject, plan version, day), least recently used going
    first, and the serialised events they share (so a change re-renders little)."""

    def __init__(self, max_entries: int = CACHE_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, RenderedFeed] = OrderedDict()
        self._lock = threading.Lock()
        self._rendering: dict[tuple, threading.Lock] = {}
        self.chunks = EventChunks()

    def get_or_render(self, key: tuple, render: Callable[[], RenderedFeed | None]) -> RenderedFeed | None:
        """The cached feed for ``key``, rendering it once (other callers wait) if missing."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            key_lock = self._rendering.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._entries:
                    return self._entries[key]
            feed = render()
            with self._lock:
                self._rendering.pop(key, None)
                if feed is not None:
                    self._entries[key] = feed
                    while len(self._entries) > self.max_entries:
                        self._entries.popitem(last=False)
            return feed


def load_feed(engine: sa.Engine, cache: FeedCache, token: str, now: datetime) -> RenderedFeed | None:
    """Resolve ``token`` and return its feed (from the cache when the plan is unchanged).

    Read-only sessions: serving feeds never waits for, or holds up, anyone writing."""
    today = now.astimezone(LONDON).date()
    with read_session(engine) as session:
        subject = resolve_token(session, token)
        if subject is None:
            return None
        version, changed_at = plan_version(session)

    def render() -> RenderedFeed | None:
        with read_session(engine) as session:
            body = subject_calendar(session, subject.person_id, subject.team_id, today, cache.chunks)
        if body is None:
            return None
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return RenderedFeed(body, etag, max(changed_at, _start_of(today)).replace(microsecond=0))

    return cache.get_or_render((subject.key, version, today), render)


def _start_of(day: date) -> datetime:
    return local_datetime(day, time(0)).astimezone(UTC)


def not_modified(request: Request, feed: RenderedFeed) -> bool:
    """Whether the client's conditional headers show it already has this feed."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or feed.etag in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        return since.tzinfo is not None and feed.last_modified <= since
    return False


def calendar_router(clock: Callable[[], datetime] = utcnow) -> APIRouter:
    """The feed routes. The app's ``state.engine`` is the database and ``state.clock``
    (if set) the current time."""
    router = APIRouter()
    cache = FeedCache()
    redact_access_log()

    @router.get("/calendar/{token}.ics", include_in_schema=False)
    async def calendar_feed(token: str, request: Request) -> Response:
        now = getattr(request.app.state, "clock", clock)()
        feed = await run_in_threadpool(load_feed, request.app.state.engine, cache, token, now)
        if feed is None:
            raise HTTPException(status_code=404)  # the same answer as any unknown path
        headers = {
            "ETag": feed.etag,
            "Last-Modified": format_datetime(feed.last_modified, usegmt=True),
            "Cache-Control": "private, no-cache",
        }
        if not_modified(request, feed):
            return Response(status_code=304, headers=headers)
        return Response(feed.body, media_type=MEDIA_TYPE, headers=headers)

    return router
