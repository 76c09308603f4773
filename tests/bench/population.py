"""A large synthetic service, written with bulk inserts: people, teams, a year of rota, windows.

Deterministic (seeded). Phone numbers come from Ofcom's drama ranges (one block of
1,000 numbers per range), so nothing here can reach a real phone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from roster.models import (
    AvailabilityWindow,
    Case,
    CaseInvolvement,
    MetaTeamConsent,
    Person,
    PersonSkill,
    RotaShift,
    Status,
    Team,
    TeamMembership,
)
from roster.quorum.models import Invitation, InvitationState, QuorumRequest, RequestState
from roster.timeutil import LONDON, UTC

# Wednesday 10 March 2027, 11:00 in London: a working morning, as in the dashboard tests.
NOW = datetime(2027, 3, 10, 11, 0, tzinfo=UTC)

DRAMA_BLOCKS = (  # E.164 prefixes of Ofcom's 1,000-number drama blocks
    "+447700900", "+441632960", "+442079460", "+441134960", "+441144960",
    "+441154960", "+441164960", "+441174960", "+441184960", "+441214960",
)
SKILLS = ("self-harm", "family work", "substance misuse", "exploitation", "youth justice", "housing",
          "education", "eating difficulties", "domestic abuse", "systemic practice", "care experience", "forensic")
ROLES = (("keyworker", 0.78), ("metateam", 0.10), ("expert_by_experience", 0.05), ("manager", 0.07))
QUORUM_SIZE = 13  # invitations per past request: 12 needed plus one
JOINED_PER_QUORUM = 3
SHIFTS = ((time(9), time(17)), (time(12), time(20)), (time(7), time(15)), (time(22), time(6)))
PEOPLE_PER_TEAM = 25
ROTA_PERIOD_WEEKS = 4


@dataclass(frozen=True)
class Service:
    """What was written: sizes, for the report."""

    people: int
    rota_shifts: int
    windows: int
    cases: int


def drama_phone(index: int) -> str:
    block, number = divmod(index, 1000)
    if block >= len(DRAMA_BLOCKS):
        raise ValueError(f"at most {len(DRAMA_BLOCKS) * 1000} drama-range numbers")
    return f"{DRAMA_BLOCKS[block]}{number:03d}"


def populate(engine: sa.Engine, people: int, *, windows_per_person: int = 10, rota_weeks: int = 52,
             now: datetime = NOW, seed: int = 7) -> Service:
    """Write a service of ``people`` people with ``rota_weeks`` of 4-weekly rota periods around
    ``now`` and ``windows_per_person`` status windows each over the same year."""
    rng = random.Random(seed)
    person_rows = [_person(rng, index) for index in range(people)]
    teams = max(1, people // PEOPLE_PER_TEAM)
    team_rows = [{"id": t + 1, "name": f"Team {t + 1:03d}"} for t in range(teams)]
    memberships = [{"team_id": index % teams + 1, "person_id": index + 1} for index in range(people)]
    memberships += [{"team_id": (index + 1) % teams + 1, "person_id": index + 1}
                    for index in range(0, people, 10) if teams > 1]
    skills = [{"person_id": row["id"], "skill": skill}
              for row in person_rows for skill in rng.sample(SKILLS, 2)]
    consent = [{"person_id": row["id"], "max_per_week": rng.choice((1, 2, 3)),
                "contact_from": time(9), "contact_until": time(17)}
               for row in person_rows if row["role"] == "metateam"]
    first_monday = _monday(now) - timedelta(weeks=rota_weeks // 2)
    shifts = [shift for row in person_rows
              for shift in _rota(rng, row["id"], first_monday, rota_weeks)]
    windows = [window for row in person_rows
               for window in _windows(rng, row["id"], windows_per_person, now, rota_weeks)]
    case_count = max(1, people // 5)
    cases = [{"id": c + 1, "reference": f"C-{10000 + c}", "active": True} for c in range(case_count)]
    involvement = [{"case_id": c + 1, "person_id": person_id}
                   for c in range(case_count) for person_id in {rng.randint(1, people), rng.randint(1, people)}]
    with engine.begin() as connection:
        for table, rows in ((Team, team_rows), (Person, person_rows), (TeamMembership, memberships),
                            (PersonSkill, skills), (MetaTeamConsent, consent), (RotaShift, shifts),
                            (AvailabilityWindow, windows), (Case, cases), (CaseInvolvement, involvement)):
            if rows:
                connection.execute(sa.insert(table.__table__), rows)
        if engine.dialect.name == "postgresql":
            for table in ("team", "person", "case"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"
                )
    return Service(people=people, rota_shifts=len(shifts), windows=len(windows), cases=case_count)


def _person(rng: random.Random, index: int) -> dict:
    role = rng.choices([r for r, _ in ROLES], weights=[w for _, w in ROLES])[0]
    return {
        "id": index + 1, "name": f"Worker {index:05d}", "phone": drama_phone(index),
        "email": f"worker{index:05d}@diveboat.example", "role": role,
        "employment": "part_time" if rng.random() < 0.15 else "full_time",
        "practice_stage": "qualified", "stage_date": None, "line_manager_id": None,
        "active": rng.random() > 0.02, "sms_opt_out": rng.random() < 0.01,
    }


def _monday(moment: datetime) -> date:
    day = moment.astimezone(LONDON).date()
    return day - timedelta(days=day.weekday())


def _rota(rng: random.Random, person_id: int, first_monday: date, weeks: int):
    """A weekly pattern per 4-week period: 3-5 working days on one shift type."""
    for period in range(0, weeks, ROTA_PERIOD_WEEKS):
        valid_from = first_monday + timedelta(weeks=period)
        valid_until = valid_from + timedelta(weeks=ROTA_PERIOD_WEEKS, days=-1)
        start, end = rng.choices(SHIFTS, weights=(60, 20, 12, 8))[0]
        days = sorted(rng.sample(range(7), rng.choice((3, 4, 5, 5, 5))))
        for weekday in days:
            yield {"person_id": person_id, "weekday": weekday, "start_time": start, "end_time": end,
                   "valid_from": valid_from, "valid_until": valid_until}


def _windows(rng: random.Random, person_id: int, count: int, now: datetime, weeks: int):
    """Status windows spread over the rota year: field visits, sickness, leave, extra duty."""
    span = timedelta(weeks=weeks)
    first = now - span / 2
    for _ in range(count):
        starts = first + timedelta(seconds=rng.randrange(int(span.total_seconds())))
        status, length = rng.choices(
            ((Status.IN_FIELD, timedelta(hours=rng.uniform(1, 4))),
             (Status.SICK, timedelta(days=rng.randint(1, 3))),
             (Status.LEAVE, timedelta(days=rng.randint(1, 14))),
             (Status.ON_DUTY, timedelta(hours=rng.uniform(2, 8))),
             (Status.OFF, timedelta(days=1))),
            weights=(40, 15, 30, 10, 5))[0]
        starts = starts.replace(second=0, microsecond=0)
        yield {"person_id": person_id, "status": status.value, "starts_at": starts, "ends_at": starts + length,
               "note": None, "created_at": min(starts, now) - timedelta(days=rng.randint(0, 10))}


def add_quorum_history(engine: sa.Engine, people: int, *, requests: int | None = None, now: datetime = NOW,
                       seed: int = 5) -> int:
    """Write a year of closed quorum requests before ``now`` (one per person by default), each
    with ``QUORUM_SIZE`` invitations of which ``JOINED_PER_QUORUM`` joined; returns how many
    invitations. Gives the fairness ranking (quorums served, last asked) real history to read."""
    rng = random.Random(seed)
    requests = people if requests is None else requests
    request_rows, invitations = [], []
    for n in range(requests):
        asked = now - timedelta(days=365) + timedelta(days=365) * n / requests
        request_rows.append({"id": n + 1, "requester_id": rng.randint(1, people), "case_id": None, "need": 2,
                             "need_metateam": 0, "skills": "", "reason": "", "deadline_at": asked + timedelta(hours=2),
                             "state": RequestState.FORMED.value, "created_at": asked,
                             "formed_at": asked + timedelta(minutes=20), "closed_at": asked + timedelta(hours=1)})
        for position, person_id in enumerate(rng.sample(range(1, people + 1), min(QUORUM_SIZE, people))):
            state = (InvitationState.JOINED if position < JOINED_PER_QUORUM
                     else rng.choice((InvitationState.DECLINED, InvitationState.NO_ANSWER, InvitationState.STOOD_DOWN)))
            invitations.append({"request_id": n + 1, "person_id": person_id, "wave": 1, "code": str(position + 1),
                                "state": state.value, "created_at": asked, "answered_at": asked + timedelta(minutes=10),
                                "help_sent": False, "reason_picked": ""})
    with engine.begin() as connection:
        connection.execute(sa.insert(QuorumRequest.__table__), request_rows)
        connection.execute(sa.insert(Invitation.__table__), invitations)
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('quorumrequest', 'id'), (SELECT max(id) FROM quorumrequest))"
            )
    return len(invitations)
