"""The coordinators' CSV: import validates everything first, rejects bad files whole, and round-trips."""

from datetime import datetime, time

import pytest
import sqlalchemy as sa
from sqlmodel import select

from roster.db import open_database, session_factory
from roster.demo import seed_demo
from roster.models import MetaTeamConsent, Person
from roster.people import CSV_COLUMNS, export_csv, import_csv, parse_csv, person_records
from roster.schema import metadata
from roster.timeutil import UTC

HEADER = ",".join(CSV_COLUMNS)
VALID = f"""{HEADER}
Morgan Ellis,07700 900100,morgan@example.org,manager,full_time,qualified,,North Outreach,systemic practice,,yes,no,,
Taylor Brooks,07700 900101,,keyworker,part_time,asye,2027-01-04,North Outreach;South Outreach,housing; self-harm,Morgan Ellis,yes,yes,,
Dr Nadia Haddad,+44 7700 900102,,metateam,,,,North Outreach,self-harm,,,,2,10:00-16:00
Kim Walsh,07700900103,,expert_by_experience,part_time,other_staff,,South Outreach,,Morgan Ellis,no,,,
"""


def table_counts(session) -> dict[str, int]:
    return {
        table.name: session.exec(sa.select(sa.func.count()).select_from(table)).one()[0]
        for table in metadata.sorted_tables
    }


def test_valid_file_creates_people_with_teams_skills_and_consent(session):
    result = import_csv(session, VALID)
    assert (result.ok, result.created, result.updated, result.errors) == (True, 4, 0, [])
    records = {r["name"]: r for r in person_records(session)}
    taylor = records["Taylor Brooks"]
    assert taylor == {
        "name": "Taylor Brooks",
        "phone": "+447700900101",
        "email": "",
        "role": "keyworker",
        "employment": "part_time",
        "practice_stage": "asye",
        "stage_date": "2027-01-04",
        "teams": ["North Outreach", "South Outreach"],
        "skills": ["housing", "self-harm"],
        "line_manager": "Morgan Ellis",
        "active": True,
        "sms_opt_out": True,
        "consult_per_week": None,
        "consult_hours": "",
    }
    nadia = records["Dr Nadia Haddad"]
    assert (nadia["phone"], nadia["employment"], nadia["practice_stage"]) == ("+447700900102", "full_time", "qualified")
    assert (nadia["consult_per_week"], nadia["consult_hours"]) == (2, "10:00-16:00")
    consent = session.get(MetaTeamConsent, session.exec(select(Person.id).where(Person.name == "Dr Nadia Haddad")).one())
    assert (consent.max_per_week, consent.contact_from, consent.contact_until) == (2, time(10), time(16))
    assert records["Kim Walsh"]["active"] is False
    assert records["Morgan Ellis"]["email"] == "morgan@example.org"


def test_importing_again_updates_by_phone(session):
    import_csv(session, VALID)
    changed = VALID.replace("Taylor Brooks,07700 900101,,keyworker,part_time,asye,2027-01-04", "Taylor Brooks-Hale,+447700900101,,keyworker,full_time,qualified,")
    changed = changed.replace("2,10:00-16:00", "3,09:00-17:00")
    result = import_csv(session, changed)
    assert (result.ok, result.created, result.updated) == (True, 0, 4)
    records = {r["name"]: r for r in person_records(session)}
    assert "Taylor Brooks" not in records
    assert (records["Taylor Brooks-Hale"]["employment"], records["Taylor Brooks-Hale"]["stage_date"]) == ("full_time", "")
    assert (records["Dr Nadia Haddad"]["consult_per_week"], records["Dr Nadia Haddad"]["consult_hours"]) == (3, "09:00-17:00")
    assert len(records) == 4


BAD = f"""{HEADER}
Good Person,07700 900110,,keyworker,,,,North Outreach,,,,,,
Bad Phone,07700 12,,keyworker,,,,,,,,,,
Bad Role,07700 900111,,social_worker,,,,,,,,,,
Dup Phone,+447700900110,,keyworker,,,,,,,,,,
New Asye,07700 900112,,keyworker,,asye,,,,,,,,
Unknown Boss,07700 900113,,keyworker,,,,,,Nobody Here,,,,
"""


def test_bad_file_is_rejected_whole_with_every_bad_line_listed(session):
    import_csv(session, VALID)
    before_counts, before_records = table_counts(session), person_records(session)

    result = import_csv(session, BAD)

    assert not result.ok
    assert (result.created, result.updated) == (0, 0)
    assert result.errors == [
        "line 3: '07700 12' is not a valid phone number",
        "line 4: role 'social_worker' is not one of keyworker, metateam, expert_by_experience, manager",
        "line 5: phone +447700900110 is already used on line 2",
        "line 6: practice_stage asye needs stage_date (the ASYE start date)",
        "line 7: line_manager 'Nobody Here' is not on the roster or in the file",
    ]
    session.expire_all()
    assert table_counts(session) == before_counts
    assert person_records(session) == before_records


def test_every_problem_in_one_row_is_named(session):
    text = f"{HEADER}\n,nope,,boss,weekends,student,soon,,,,maybe,perhaps,-1,9-5\n"
    [error] = import_csv(session, text).errors
    assert error.startswith("line 2: ")
    for problem in [
        "name is empty",
        "'nope' is not a phone number",
        "role 'boss' is not one of",
        "employment 'weekends' is not one of full_time, part_time",
        "practice_stage 'student' is not one of",
        "stage_date 'soon' should be a date like 2027-01-04",
        "active 'maybe' should be yes or no",
        "sms_opt_out 'perhaps' should be yes or no",
        "consult_per_week '-1' should be a whole number, 0 or more",
        "consult_hours '9-5' should look like 09:00-17:00",
    ]:
        assert problem in error
    assert table_counts(session)["person"] == 0


def test_probation_needs_its_end_date(session):
    text = f"{HEADER}\nAvery Mensah,07700 900120,,keyworker,,probation,,,,,,,,\n"
    assert import_csv(session, text).errors == ["line 2: practice_stage probation needs stage_date (the probation end date)"]


def test_line_manager_may_already_be_on_the_roster(session):
    import_csv(session, VALID)
    text = f"{HEADER}\nNew Starter,07700 900130,,keyworker,,,,,,morgan ellis,,,,\n"
    assert import_csv(session, text).ok
    assert {r["name"]: r for r in person_records(session)}["New Starter"]["line_manager"] == "Morgan Ellis"


def test_phone_already_used_by_someone_else_updates_that_person(session):
    """Matching is by phone: a row with a known phone is the same person, renamed."""
    import_csv(session, VALID)
    text = f"{HEADER}\nT. Brooks,07700 900101,,keyworker,,,,,,,,,,\n"
    result = import_csv(session, text)
    assert (result.created, result.updated) == (0, 1)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "line 1: header is missing column(s) name, phone, role"),
        ("name,role\nSam,keyworker\n", "line 1: header is missing column(s) phone"),
        ("name,phone,role,favourite_colour\nSam,07700 900100,keyworker,blue\n", "line 1: unknown column(s) favourite_colour"),
        ("name,phone,role\n", "the file has no people in it"),
        ("name,phone,role\nSam,07700 900100,keyworker,extra\n", "line 2: has more fields than the header"),
    ],
)
def test_header_and_shape_problems(session, text, error):
    result = import_csv(session, text)
    assert len(result.errors) == 1 and result.errors[0].startswith(error), result.errors
    assert table_counts(session)["person"] == 0


def test_minimal_columns_in_any_order_with_spaces_in_the_header(session):
    result = import_csv(session, " role , name , phone \nkeyworker,Sam Okafor,07700 900100\n\n")
    assert (result.ok, result.created) == (True, 1)
    [record] = person_records(session)
    assert (record["employment"], record["practice_stage"], record["active"], record["sms_opt_out"]) == (
        "full_time", "qualified", True, False,
    )


def test_byte_order_mark_and_windows_line_endings_from_excel(session):
    text = "\ufeff" + VALID.replace("\n", "\r\n")
    rows, errors = parse_csv(text)
    assert errors == [] and len(rows) == 4
    assert import_csv(session, text).created == 4


def test_export_then_import_into_a_fresh_database_round_trips(session, db_url, tmp_path):
    seed_demo(session, now=datetime(2027, 3, 29, 9, 0, tzinfo=UTC))
    extra = (
        f"{HEADER}\n"
        '"Zoë Müller-O\'Brien, Jr",07700 900901,zoe@example.org,keyworker,part_time,probation,2027-06-30,'
        '"North Outreach;Team ""Ω""",self-harm;systemic practice,Morgan Ellis,no,yes,,\n'
        "Dr Ada Ng,07700 900902,,metateam,,,,,,,yes,no,0,08:30-12:15\n"
    )
    assert import_csv(session, extra).created == 2
    exported = export_csv(session)
    original = person_records(session)
    assert any(not r["active"] for r in original) and any(r["sms_opt_out"] for r in original)

    fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    fresh = open_database(fresh_url)
    try:
        with session_factory(fresh)() as other:
            result = import_csv(other, exported)
            assert (result.ok, result.created) == (True, len(original)), result.errors
            assert person_records(other) == original
            assert export_csv(other) == exported
    finally:
        fresh.dispose()


def test_export_has_the_documented_header(session):
    assert export_csv(session) == HEADER + "\n"
    import_csv(session, VALID)
    lines = export_csv(session).splitlines()
    assert lines[0] == HEADER and len(lines) == 5
    assert "Taylor Brooks,+447700900101,,keyworker,part_time,asye,2027-01-04,North Outreach;South Outreach,housing;self-harm,Morgan Ellis,yes,yes,," in lines
