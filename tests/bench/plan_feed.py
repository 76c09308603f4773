"""``plan.`` and ``feed.``: plan a year for 1,000 agreements; serve feeds first and cached.

The service is :mod:`tests.bench.supervision_service` (five 200-person teams, 1,000
one-to-one agreements, groups, leave, rota). Figures:

- ``plan.year``: booking 2027 from nothing, then re-running it (books nothing; limit:
  the first run);
- ``feed.person`` / ``feed.team_200``: ``GET /calendar/<token>.ics``'s path (token
  lookup, plan version, render) on a cold cache, then from the cache (what a 304 or a
  repeat fetch costs; limit: the first render), then (full mode) after one session is
  postponed;
- ``feed.growth`` (full mode): the team calendar rendered (no cache) over its 15-month window and
  over half of it: time ratio against events ratio (about 2x events should take about
  2x time, not more; target 1.2).
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterator
from datetime import timedelta

import sqlalchemy as sa

from notify.feeds import FeedCache, load_feed
from roster.db import read_session, session_factory
from roster.models import Person, Team
from roster.supervision.calendars import FeedWindow, team_calendar
from roster.supervision.changes import postpone
from roster.supervision.models import SupervisionSession
from roster.supervision.planner import plan_year
from roster.supervision.tokens import FeedSubject, issue_token
from roster.timeutil import LONDON
from tests.bench.databases import analyse, fresh_engine
from tests.bench.figures import Figure, median_seconds, ms
from tests.bench.options import Options
from tests.bench.supervision_service import PLANNED_AT, SERVED_AT, populate

GROWTH_TARGET = 1.2


def run(options: Options) -> Iterator[Figure]:
    repeats = options.pick(5, 1)
    for backend in options.backends:
        with fresh_engine(backend) as (_, engine):
            agreements, _ = populate(engine)
            analyse(engine)
            new_session = session_factory(engine)
            with new_session() as session:
                started = time.perf_counter()
                result = plan_year(session, 2027, now=PLANNED_AT)
                first = time.perf_counter() - started
                yield Figure(f"plan.year.{agreements}_agreements.{backend}", first, "s")
                yield Figure(f"plan.year.sessions_booked.{backend}", result.booked, "sessions")
                started = time.perf_counter()
                again = plan_year(session, 2027, now=PLANNED_AT)
                if again.booked:
                    raise RuntimeError(f"re-planning booked {again.booked} sessions twice")
                yield Figure(f"plan.year.rerun_books_nothing.{backend}", time.perf_counter() - started, "s", limit=first)
                analyse(engine)
                person = session.exec(sa.select(Person).where(Person.name == "Worker 0001")).scalar_one()
                tokens = {
                    "person": issue_token(session, FeedSubject(person_id=person.id, team_id=None), now=PLANNED_AT),
                    "team_200": issue_token(session, FeedSubject(person_id=None, team_id=1), now=PLANNED_AT),
                }
            for name, token in tokens.items():
                first = median_seconds(lambda: load_feed(engine, FeedCache(), token, SERVED_AT), repeats,
                                       warmup=options.pick(1, 0))
                cache = FeedCache()
                feed = load_feed(engine, cache, token, SERVED_AT)
                cached = median_seconds(lambda: load_feed(engine, cache, token, SERVED_AT), repeats * 5)
                yield Figure(f"feed.{name}.events.{backend}", feed.body.count(b"BEGIN:VEVENT"), "events")
                yield Figure(f"feed.{name}.first.{backend}", ms(first), "ms")
                yield Figure(f"feed.{name}.cached.{backend}", ms(cached), "ms", limit=ms(first))
                if not options.quick:
                    changed = _after_changes(engine, cache, token, repeats)
                    yield Figure(f"feed.{name}.after_one_change.{backend}", ms(changed), "ms", limit=ms(first))
            if not options.quick:
                yield from _growth(engine, backend, repeats)


def _after_changes(engine: sa.Engine, cache: FeedCache, token: str, repeats: int) -> float:
    """Median time to serve the feed again after one of its sessions is postponed (the
    feed is re-rendered; its other events come from the cache of serialised events)."""
    samples = []
    feed = load_feed(engine, cache, token, SERVED_AT)
    uids = re.findall(rb"UID:(\S+)\r\nSEQUENCE:0", feed.body)
    with session_factory(engine)() as session:
        for uid in uids[-repeats:]:
            row = session.exec(sa.select(SupervisionSession).where(SupervisionSession.uid == uid.decode())).scalar_one()
            postpone(session, row.id, "benchmark change", now=SERVED_AT)
            started = time.perf_counter()
            load_feed(engine, cache, token, SERVED_AT)
            samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _growth(engine: sa.Engine, backend: str, repeats: int) -> Iterator[Figure]:
    """Render the 200-person team's calendar over its full window and over half of it."""
    today = SERVED_AT.astimezone(LONDON).date()
    full = FeedWindow.around(today)
    half = FeedWindow(full.start, full.start + timedelta(days=(full.end - full.start).days // 2))
    with read_session(engine) as session:
        team = session.get(Team, 1)
        bodies = {window: team_calendar(session, team, today, window) for window in (half, full)}
        seconds = {window: median_seconds(lambda: team_calendar(session, team, today, window), repeats)
                   for window in (half, full)}
    events = {window: body.count(b"BEGIN:VEVENT") for window, body in bodies.items()}
    yield Figure(f"feed.growth.team_200.events_half_window.{backend}", events[half], "events")
    yield Figure(f"feed.growth.team_200.render_half_window.{backend}", ms(seconds[half]), "ms")
    yield Figure(f"feed.growth.team_200.render_full_window.{backend}", ms(seconds[full]), "ms")
    yield Figure(f"feed.growth.team_200.time_ratio.{backend}", seconds[full] / seconds[half], "x",
                 limit=events[full] / events[half], target=GROWTH_TARGET)
