"""The supervision service that the ``plan`` and ``feed`` benchmarks plan and serve.

Five 200-person teams: 100 managers supervise 900 workers, and five heads of service
supervise the managers (1,000 one-to-one agreements), with a weekly team meeting and
four fortnightly reflective groups per team, two weeks of leave each, a weekly rota
(part-timers three days) and 2,000 cases. Deterministic (seeded).
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from roster.models import AvailabilityWindow, Case, CaseInvolvement, Person, RotaShift, Team, TeamMembership
from roster.supervision.models import SupervisionAgreement, SupervisionGroup, SupervisionGroupMember
from roster.timeutil import local_datetime
from tests.bench.population import drama_phone

PLANNED_AT = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # when the year is planned and feeds are issued
SERVED_AT = datetime(2027, 3, 10, 11, 0, tzinfo=timezone.utc)  # when feeds are fetched
TEAMS, TEAM_SIZE, MANAGERS_PER_TEAM = 5, 200, 20
CASES = 2_000


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
