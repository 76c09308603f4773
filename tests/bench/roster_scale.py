"""``roster.``: "who is available now", candidate ranking and the board at 100 vs 5,000 people.

Each service has a year of 4-weekly duty rota, 10 status windows per person and a year
of quorum history, one closed request per person with 13 invitations each (5,000 people:
about 290,000 rota rows, 50,000 windows, 65,000 invitations). Both services are kept
open and measured in turn, so a busy machine slows both sides alike. The growth
figure is the large service's time over the small one's (quick mode: 1,000 vs 20
people); linear growth is 50x. "Who is available now" (``available_at``) and ranking
the first wave of a quorum (``next_candidates``: the best 3 for a case, by skill and
fairness) must grow far less than that (target: half of linear). The board
(``load_board``) lists everyone, so linear growth is its floor (target: no worse
than linear); it is also compared with the dashboard's refresh interval, which it
must fit well inside (target: half of it).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack

from roster.availability import available_at
from roster.board import load_board
from roster.db import read_session
from roster.quorum.candidates import next_candidates
from roster.quorum.models import QuorumRequest
from roster.settings import Settings
from tests.bench.databases import analyse, fresh_engine
from tests.bench.figures import Figure, ms
from tests.bench.options import Options
from tests.bench.population import NOW, add_quorum_history, populate

SIZES = {False: (100, 5_000), True: (20, 1_000)}  # by quick
REFRESH_TARGET = 0.5  # the board loads in at most half the refresh interval


def _rank(session):
    request = QuorumRequest(requester_id=1, case_id=1, skills="self-harm", need=2, deadline_at=NOW, created_at=NOW)
    return next_candidates(session, request, NOW, size=3)


QUERIES = {  # name: (query, growth target as a share of linear)
    "available_at": (lambda session: available_at(session, NOW), 0.5),
    "rank_candidates": (_rank, 0.5),
    "load_board": (lambda session: load_board(session, NOW), 1.0),
}


def run(options: Options) -> Iterator[Figure]:
    repeats = options.pick(15, 5)
    refresh_ms = ms(Settings().refresh_seconds)
    small, large = SIZES[options.quick]
    for backend in options.backends:
        with ExitStack() as stack:
            engines = {}
            for people in (small, large):
                _, engine = stack.enter_context(fresh_engine(backend))
                service = populate(engine, people)
                invitations = add_quorum_history(engine, people)
                analyse(engine)
                engines[people] = engine
            yield Figure(f"roster.data.rota_shifts.{backend}", service.rota_shifts, "rows")
            yield Figure(f"roster.data.windows.{backend}", service.windows, "rows")
            yield Figure(f"roster.data.invitations.{backend}", invitations, "rows")
            for name, (query, growth_target) in QUERIES.items():
                timings = _interleaved(engines, query, repeats)
                for people, seconds in timings.items():
                    limit = refresh_ms if name == "load_board" and people == large else None
                    yield Figure(f"roster.{name}.people_{people}.{backend}", ms(seconds), "ms",
                                 limit=limit, target=REFRESH_TARGET if limit else None)
                yield Figure(f"roster.{name}.growth.{backend}", timings[large] / timings[small], "x",
                             limit=large / small, target=growth_target)


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
