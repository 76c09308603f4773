"""``supervision.``: plan a year for 1,000 agreements; render feeds first and cached.

A service of five 200-person teams: 100 managers supervise 900 workers, and five heads
of service supervise the managers (1,000 one-to-one agreements), with a weekly team
meeting and four fortnightly reflective groups per team, two weeks of leave each,
a weekly rota (part-timers three days) and 2,000 cases. Figures:

- ``plan_year``: booking 2027 from nothing, then re-running it (books nothing);
- ``feed.person`` / ``feed.team_200``: the server's path for ``GET /calendar/<token>.ics``
  (token lookup, plan version, render) on a cold cache, then served from the cache,
  then re-rendered after one of its sessions is postponed.

Run alone with ``python -m tests.bench.plan_feeds [--quick]``; ``run(options)`` is the
section hook for ``python -m tests.bench``.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from notify.feeds import FeedCache, load_feed
from roster.db import session_factory
from roster.models import AvailabilityWindow, Case, CaseInvolvement, Person, RotaShift, Team, TeamMembership
from roster.supervision.changes import postpone
from roster.supervision.models import SupervisionAgreement, SupervisionGroup, SupervisionGroupMember, SupervisionSession
from roster.supervision.planner import plan_year
from roster.supervision.tokens import FeedSubject, issue_token
from roster.timeutil import local_datetime
from tests.bench.databases import analyse, backends, fresh_engine
from tests.bench.figures import Figure, median_seconds, ms
from tests.bench.options import Options
from tests.bench.population import drama_phone

PLANNED_AT = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
SERVED_AT = datetime(2027, 3, 10, 11, 0, tzinfo=timezone.utc)
TEAMS, TEAM_SIZE, MANAGERS_PER_TEAM = 5, 200, 20
CASES = 2_000


def run(options: Options) -> Iterator[Figure]:
    repeats = options.pick(7, 3)
    for backend in options.backends:
        with fresh_engine(backend) as (_, engine):
            agreements, groups = populate(engine)
            analyse(engine)
            new_session = session_factory(engine)
            yield Figure(f"supervision.data.agreements.{backend}", agreements, "agreements")
            yield Figure(f"supervision.data.groups.{backend}", groups, "groups")
            with new_session() as session:
                started = time.perf_counter()
                result = plan_year(session, 2027, now=PLANNED_AT)
                yield Figure(f"supervision.plan_year.1000_agreements.{backend}", time.perf_counter() - started, "s")
                yield Figure(f"supervision.plan_year.sessions_booked.{backend}", result.booked, "sessions")
                started = time.perf_counter()
                again = plan_year(session, 2027, now=PLANNED_AT)
                assert again.booked == 0
                yield Figure(f"supervision.plan_year.rerun_books_nothing.{backend}", time.perf_counter() - started, "s")
                analyse(engine)
                person = session.exec(sa.select(Person).where(Person.name == "Worker 0001")).scalar_one()
                tokens = {
                    "person": issue_token(session, FeedSubject(person_id=person.id, team_id=None), now=PLANNED_AT),
                    "team_200": issue_token(session, FeedSubject(person_id=None, team_id=1), now=PLANNED_AT),
                }
            for name, token in tokens.items():
                first = median_seconds(lambda: load_feed(engine, FeedCache(), token, SERVED_AT), repeats)
                cache = FeedCache()
                feed = load_feed(engine, cache, token, SERVED_AT)
                cached = median_seconds(lambda: load_feed(engine, cache, token, SERVED_AT), repeats * 3)
                changed = _after_changes(engine, cache, token, repeats)
                yield Figure(f"supervision.feed.{name}.events.{backend}", feed.body.count(b"BEGIN:VEVENT"), "events")
                yield Figure(f"supervision.feed.{name}.first.{backend}", ms(first), "ms")
                yield Figure(f"supervision.feed.{name}.cached.{backend}", ms(cached), "ms")
                yield Figure(f"supervision.feed.{name}.after_one_change.{backend}", ms(changed), "ms")


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


def populate(engine: sa.Engine, seed: int = 11) -> tuple[int, int]:
    """Write the service with bulk inserts; returns (agreements, groups)."""
    rng = random.Random(seed)
    people, memberships, rota, leave, agreements = [], [], [], [], []
    heads = [_person(len(people) + n, f"Head {n + 1}", "manager") for n in range(TEAMS)]
    people += heads
    for team in range(1, TEAMS + 1):
        managers = [_person(len(people) + n, f"Manager {team}-{n + 1:02d}", "manager") for n in range(MANAGERS_PER_TEAM)]
        people += managers
        workers = []
        for n in range(TEAM_SIZE - MANAGERS_PER_TEAM):
            index = (team - 1) * (TEAM_SIZE - MANAGERS_PER_TEAM) + n
            stage = rng.choices(("asye", "probation", "qualified", "other_staff"), (10, 10, 60, 20))[0]
            worker = _person(len(people), f"Worker {index:04d}", "keyworker", stage=stage,
                             part_time=rng.random() < 0.15)
            people.append(worker)
            workers.append(worker)
        memberships += [{"team_id": team, "person_id": p["id"]} for p in managers + workers]
        for n, worker in enumerate(workers):
            agreements.append(_agreement(managers[n % MANAGERS_PER_TEAM], worker, n // MANAGERS_PER_TEAM))
        for n, manager in enumerate(managers):
            agreements.append(_agreement(heads[team - 1], manager, n))
    for person in people:
        days = (0, 1, 2) if person["employment"] == "part_time" else range(5)
        rota += [{"person_id": person["id"], "weekday": d, "start_time": "09:00:00", "end_time": "17:00:00"} for d in days]
        start = date(2027, 1, 4) + timedelta(weeks=rng.randrange(48))
        leave.append({"person_id": person["id"], "status": "leave", "note": "annual leave",
                      "starts_at": local_datetime(start, datetime.min.time()),
                      "ends_at": local_datetime(start + timedelta(days=12), datetime.min.time()),
                      "created_at": PLANNED_AT})
    groups, group_members = _groups(memberships, rng)
    cases = [{"id": n + 1, "reference": f"C-{n + 10000}", "active": True} for n in range(CASES)]
    workers = [p["id"] for p in people if p["role"] == "keyworker"]
    involvement = {(case["id"], rng.choice(workers)) for case in cases for _ in range(rng.choice((1, 2)))}
    with engine.begin() as connection:
        connection.execute(sa.insert(Person), [{k: v for k, v in p.items()} for p in people])
        connection.execute(sa.insert(Team), [{"id": t, "name": f"Team {t}"} for t in range(1, TEAMS + 1)])
        connection.execute(sa.insert(TeamMembership), memberships)
        connection.execute(sa.insert(RotaShift), _times(rota))
        connection.execute(sa.insert(AvailabilityWindow), leave)
        connection.execute(sa.insert(SupervisionAgreement), agreements)
        connection.execute(sa.insert(SupervisionGroup), groups)
        connection.execute(sa.insert(SupervisionGroupMember), group_members)
        connection.execute(sa.insert(Case), cases)
        connection.execute(sa.insert(CaseInvolvement), [{"case_id": c, "person_id": p} for c, p in sorted(involvement)])
    return len(agreements), len(groups)


def _person(index: int, name: str, role: str, *, stage: str = "qualified", part_time: bool = False) -> dict:
    stage_date = {"asye": date(2026, 10, 5), "probation": date(2027, 5, 28)}.get(stage)
    return {"id": index + 1, "name": name, "phone": drama_phone(index), "email": None, "role": role,
            "employment": "part_time" if part_time else "full_time", "practice_stage": stage,
            "stage_date": stage_date, "line_manager_id": None, "active": True, "sms_opt_out": False}


def _agreement(supervisor: dict, supervisee: dict, slot: int) -> dict:
    return {"supervisor_id": supervisor["id"], "supervisee_id": supervisee["id"], "kind": "one_to_one",
            "frequency": None, "duration_minutes": 90, "venue": "Supervision room", "weekday": slot % 5,
            "start_time": datetime.strptime(("10:00", "14:00")[(slot // 5) % 2], "%H:%M").time(),
            "starts_on": date(2026, 9, 1), "ends_on": None, "active": True,
            "created_at": PLANNED_AT, "updated_at": PLANNED_AT}


def _groups(memberships: list[dict], rng: random.Random) -> tuple[list[dict], list[dict]]:
    groups, members = [], []
    for team in range(1, TEAMS + 1):
        team_people = [m["person_id"] for m in memberships if m["team_id"] == team]
        chair = team_people[0]
        specs = [("team_meeting", f"Team {team} meeting", "1w", 0, 60, team_people)]
        for n in range(4):
            specs.append(("reflective_group", f"Team {team} reflective group {n + 1}", "2w", 1 + n % 4, 120,
                          team_people[MANAGERS_PER_TEAM + n::4]))
        for kind, name, frequency, weekday, minutes, people in specs:
            group_id = len(groups) + 1
            groups.append({"id": group_id, "name": name, "kind": kind, "team_id": team, "chair_id": chair,
                           "frequency": frequency, "duration_minutes": minutes, "venue": "Team room",
                           "weekday": weekday, "start_time": datetime.strptime("09:00", "%H:%M").time() if kind == "team_meeting"
                           else datetime.strptime(f"{13 + rng.randrange(2)}:00", "%H:%M").time(),
                           "starts_on": date(2026, 9, 1), "ends_on": None, "cases_per_session": 2, "active": True,
                           "created_at": PLANNED_AT, "updated_at": PLANNED_AT})
            members += [{"group_id": group_id, "person_id": p} for p in people if p != chair]
    return groups, members


def _times(rota: list[dict]) -> list[dict]:
    parse = lambda text: datetime.strptime(text, "%H:%M:%S").time()  # noqa: E731
    return [{**row, "start_time": parse(row["start_time"]), "end_time": parse(row["end_time"]),
             "valid_from": None, "valid_until": None} for row in rota]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.plan_feeds", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    options = Options(quick=args.quick, backends=tuple(backends()))
    for figure in run(options):
        print(figure.line(), flush=True)


if __name__ == "__main__":
    main()
