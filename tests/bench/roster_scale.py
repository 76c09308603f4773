"""``roster.``: "who is available now" and the roster board at 100 vs 5,000 people.

Each service has a year of 4-weekly duty rota and 10 status windows per person
(5,000 people: about 290,000 rota rows and 50,000 windows). Both services are kept
open and measured in turn, so a busy machine slows both sides alike. The growth
figure is the 5,000-person time over the 100-person time; linear growth is 50x.
The board lists everyone, so it is also compared with the dashboard's refresh
interval, which it must fit well inside.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack

from roster.availability import available_at
from roster.board import load_board
from roster.db import read_session
from roster.settings import Settings
from tests.bench.databases import analyse, fresh_engine
from tests.bench.figures import Figure, ms
from tests.bench.options import Options
from tests.bench.population import NOW, populate

SMALL, LARGE = 100, 5_000
GROWTH_TARGET = 0.5  # "far less than 50x": at most 25x for 50x the people
REFRESH_TARGET = 0.5  # the board loads in at most half the refresh interval

QUERIES = {
    "available_at": lambda session: available_at(session, NOW),
    "load_board": lambda session: load_board(session, NOW),
}


def run(options: Options) -> Iterator[Figure]:
    repeats = options.pick(15, 5)
    refresh_ms = ms(Settings().refresh_seconds)
    for backend in options.backends:
        with ExitStack() as stack:
            engines = {}
            for people in (SMALL, LARGE):
                _, engine = stack.enter_context(fresh_engine(backend))
                service = populate(engine, people)
                analyse(engine)
                engines[people] = engine
            yield Figure(f"roster.data.rota_shifts.{backend}", service.rota_shifts, "rows")
            yield Figure(f"roster.data.windows.{backend}", service.windows, "rows")
            for name, query in QUERIES.items():
                timings = _interleaved(engines, query, repeats)
                for people, seconds in timings.items():
                    limit = refresh_ms if name == "load_board" and people == LARGE else None
                    yield Figure(f"roster.{name}.people_{people}.{backend}", ms(seconds), "ms",
                                 limit=limit, target=REFRESH_TARGET if limit else None)
                yield Figure(f"roster.{name}.growth.{backend}", timings[LARGE] / timings[SMALL], "x",
                             limit=LARGE / SMALL, target=GROWTH_TARGET)


def _interleaved(engines: dict, query, repeats: int) -> dict[int, float]:
    """Median seconds per service, timing the services in turn (after one warm-up each)."""
    samples: dict[int, list[float]] = {people: [] for people in engines}
    for round_ in range(repeats + 1):
        for people, engine in engines.items():
            started = time.perf_counter()
            with read_session(engine) as session:
                query(session)
            if round_:
                samples[people].append(time.perf_counter() - started)
    return {people: statistics.median(values) for people, values in samples.items()}
