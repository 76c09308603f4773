"""The demo service: realistic, safe phone numbers, and seeding twice changes nothing."""

from collections import Counter
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from roster.availability import available_at, statuses_at
from roster.demo import seed_demo
from roster.models import (
    AvailabilityWindow,
    Case,
    CaseInvolvement,
    MetaTeamConsent,
    Person,
    Role,
    RotaShift,
    Status,
    Team,
    TeamMembership,
)
from roster.people import skills_of, teams_of
from roster.schema import metadata
from roster.timeutil import UTC

NOW = datetime(2027, 3, 23, 10, 30, tzinfo=UTC)  # a Tuesday, mid-morning


@pytest.fixture
def demo(session):
    assert seed_demo(session, now=NOW) is True
    return session


def by_role(session) -> Counter:
    return Counter(p.role for p in session.exec(select(Person)))


def test_two_teams_and_the_expected_people(demo):
    assert sorted(t.name for t in demo.exec(select(Team))) == ["North Outreach", "South Outreach"]
    roles = by_role(demo)
    assert roles[Role.KEYWORKER] >= 14
    assert roles[Role.METATEAM] == 4
    assert roles[Role.EXPERT_BY_EXPERIENCE] == 3
    assert roles[Role.MANAGER] >= 1
    people = list(demo.exec(select(Person)))
    assert all(p.active for p in people)
    teams = teams_of(demo)
    assert all(teams.get(p.id) for p in people), "everyone sits in at least one team"
    assert any(len(teams[p.id]) > 1 for p in people if p.role == Role.KEYWORKER)
    assert all(skills_of(demo).get(p.id) for p in people)


def test_keyworkers_include_an_asye_and_a_part_timer(demo):
    keyworkers = list(demo.exec(select(Person).where(Person.role == Role.KEYWORKER)))
    asye = [p for p in keyworkers if p.practice_stage == "asye"]
    assert asye and all(p.stage_date and p.stage_date < NOW.date() for p in asye)
    assert any(p.employment == "part_time" for p in keyworkers)
    probation = [p for p in keyworkers if p.practice_stage == "probation"]
    assert all(p.stage_date and p.stage_date > NOW.date() for p in probation)
    assert all(p.line_manager_id for p in keyworkers)


def test_metateam_members_all_have_consent(demo):
    metateam = list(demo.exec(select(Person).where(Person.role == Role.METATEAM)))
    consents = {c.person_id: c for c in demo.exec(select(MetaTeamConsent))}
    assert set(consents) == {p.id for p in metateam}
    for consent in consents.values():
        assert consent.max_per_week >= 1
        assert consent.contact_from < consent.contact_until


def test_cases_are_reference_codes_with_involved_workers(demo):
    cases = list(demo.exec(select(Case)))
    assert 8 <= len(cases) <= 12
    assert all(c.reference.startswith("C-") and c.reference[2:].isdigit() for c in cases)
    involved = Counter(i.case_id for i in demo.exec(select(CaseInvolvement)))
    assert all(involved[c.id] >= 1 for c in cases)
    keyworker_ids = {p.id for p in demo.exec(select(Person).where(Person.role == Role.KEYWORKER))}
    assert {i.person_id for i in demo.exec(select(CaseInvolvement))} <= keyworker_ids


def test_all_phones_are_in_the_ofcom_drama_range(demo):
    phones = [p.phone for p in demo.exec(select(Person))]
    assert len(set(phones)) == len(phones)
    assert all(phone.startswith("+447700900") and len(phone) == 13 for phone in phones)


def test_a_week_of_rota_and_some_leave(demo):
    shifts = list(demo.exec(select(RotaShift)))
    assert {s.weekday for s in shifts} >= set(range(5))
    with_shifts = {s.person_id for s in shifts}
    assert len(with_shifts) >= 20
    windows = list(demo.exec(select(AvailabilityWindow)))
    assert {w.status for w in windows} >= {Status.LEAVE, Status.SICK, Status.IN_FIELD}
    assert all(w.note for w in windows)
    statuses = Counter(s.status for s in statuses_at(demo, NOW))
    assert statuses[Status.ON_DUTY] >= 10 and statuses[Status.LEAVE] >= 1 and statuses[Status.SICK] >= 1
    assert statuses[Status.IN_FIELD] >= 1
    assert available_at(demo, NOW, roles=[Role.METATEAM.value])


def test_no_client_names_anywhere(demo):
    """Cases are known by reference only; notes say what, never who."""
    notes = {w.note for w in demo.exec(select(AvailabilityWindow))}
    assert notes <= {"annual leave", "sick today", "home visit"}


def test_seeding_twice_changes_nothing(demo):
    def counts():
        return {t.name: demo.exec(sa.select(sa.func.count()).select_from(t)).one()[0] for t in metadata.sorted_tables}

    before = counts()
    assert seed_demo(demo, now=NOW + timedelta(days=3)) is False
    assert counts() == before


def test_seeding_a_database_that_already_has_people_does_nothing(session, add_person):
    add_person("Only Person")
    assert seed_demo(session, now=NOW) is False
    assert session.exec(sa.select(sa.func.count()).select_from(Person)).one()[0] == 1
    assert session.exec(select(TeamMembership)).all() == []
