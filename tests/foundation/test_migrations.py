"""Migrations: upgrading a populated database loses nothing, and models and migrations agree."""

from datetime import date, datetime, time

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import select

from alembic.script import ScriptDirectory

from roster.db import SCHEMA_HEADS, alembic_config, make_engine, open_database, schema_is_current, session_factory, upgrade
from roster.models import AvailabilityWindow, Case, CaseInvolvement, MetaTeamConsent, Person, RotaShift
from roster.people import skills_of, teams_of
from roster.schema import metadata
from roster.timeutil import UTC

FIRST_REVISION = "0001_initial"


@pytest.fixture
def bare_engine(db_url):
    """An engine on an empty database, not yet upgraded."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _timestamp(engine, value: datetime) -> str:
    """A UTC instant written the way each backend stores it at revision 0001."""
    if engine.dialect.name == "sqlite":
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value.isoformat()


def _populate_at_first_revision(engine) -> None:
    starts = _timestamp(engine, datetime(2027, 3, 29, 8, 0, tzinfo=UTC))
    ends = _timestamp(engine, datetime(2027, 4, 2, 16, 0, tzinfo=UTC))
    created = _timestamp(engine, datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
    statements = [
        "INSERT INTO team (id, name) VALUES (1, 'North Outreach')",
        "INSERT INTO person (id, name, phone, email, role, employment, practice_stage, stage_date, line_manager_id,"
        " active, sms_opt_out) VALUES (1, 'Morgan Ellis', '+447700900100', 'morgan@diveboat.example', 'manager',"
        " 'full_time', 'qualified', NULL, NULL, TRUE, FALSE)",
        "INSERT INTO person (id, name, phone, email, role, employment, practice_stage, stage_date, line_manager_id,"
        " active, sms_opt_out) VALUES (2, 'Taylor Brooks', '+447700900101', NULL, 'keyworker', 'part_time', 'asye',"
        " '2027-01-04', 1, TRUE, TRUE)",
        "INSERT INTO person (id, name, phone, email, role, employment, practice_stage, stage_date, line_manager_id,"
        " active, sms_opt_out) VALUES (3, 'Dr Nadia Haddad', '+447700900102', NULL, 'metateam', 'full_time',"
        " 'qualified', NULL, NULL, FALSE, FALSE)",
        "INSERT INTO teammembership (team_id, person_id) VALUES (1, 1), (1, 2)",
        "INSERT INTO personskill (person_id, skill) VALUES (2, 'housing'), (2, 'self-harm')",
        "INSERT INTO metateamconsent (person_id, max_per_week, contact_from, contact_until)"
        " VALUES (3, 2, '10:00:00', '16:00:00')",
        "INSERT INTO rotashift (id, person_id, weekday, start_time, end_time, valid_from, valid_until)"
        " VALUES (1, 2, 0, '09:00:00', '17:00:00', '2027-01-04', NULL)",
        f"INSERT INTO availabilitywindow (id, person_id, status, starts_at, ends_at, note, created_at)"
        f" VALUES (1, 2, 'leave', '{starts}', '{ends}', 'annual leave', '{created}')",
        'INSERT INTO "case" (id, reference, active) VALUES (1, \'C-1042\', TRUE)',
        "INSERT INTO caseinvolvement (case_id, person_id) VALUES (1, 2)",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def _row_counts(engine, tables) -> dict[str, int]:
    with engine.connect() as connection:
        return {t: connection.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar() for t in tables}


def test_upgrading_a_populated_first_revision_database_loses_nothing(bare_engine):
    upgrade(bare_engine, FIRST_REVISION)
    _populate_at_first_revision(bare_engine)
    first_tables = [t for t in sa.inspect(bare_engine).get_table_names() if t != "alembic_version"]
    before = _row_counts(bare_engine, first_tables)

    upgrade(bare_engine)

    assert _row_counts(bare_engine, first_tables) == before
    with session_factory(bare_engine)() as session:
        people = {p.name: p for p in session.exec(select(Person))}
        taylor, nadia = people["Taylor Brooks"], people["Dr Nadia Haddad"]
        assert (taylor.role, taylor.employment, taylor.practice_stage, taylor.stage_date) == (
            "keyworker", "part_time", "asye", date(2027, 1, 4),
        )
        assert (taylor.line_manager_id, taylor.active, taylor.sms_opt_out) == (people["Morgan Ellis"].id, True, True)
        assert nadia.active is False
        assert teams_of(session)[taylor.id] == ["North Outreach"]
        assert skills_of(session)[taylor.id] == ["housing", "self-harm"]
        consent = session.get(MetaTeamConsent, nadia.id)
        assert (consent.max_per_week, consent.contact_from, consent.contact_until) == (2, time(10), time(16))
        shift = session.exec(select(RotaShift)).one()
        assert (shift.weekday, shift.start_time, shift.end_time, shift.valid_from) == (0, time(9), time(17), date(2027, 1, 4))
        window = session.exec(select(AvailabilityWindow)).one()
        assert (window.status, window.note) == ("leave", "annual leave")
        assert window.starts_at == datetime(2027, 3, 29, 8, 0, tzinfo=UTC)
        assert window.ends_at == datetime(2027, 4, 2, 16, 0, tzinfo=UTC)
        assert window.created_at == datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
        case = session.exec(select(Case)).one()
        assert case.reference == "C-1042"
        assert session.exec(select(CaseInvolvement)).one().person_id == taylor.id


def test_upgrading_twice_is_harmless(bare_engine):
    upgrade(bare_engine)
    heads = _current_revisions(bare_engine)
    upgrade(bare_engine)
    assert _current_revisions(bare_engine) == heads


def _current_revisions(engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def test_models_and_migrations_agree(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == [], "models and migrations disagree (write a migration):\n" + "\n".join(map(str, differences))


def test_schema_heads_names_the_newest_migrations(bare_engine):
    script = ScriptDirectory.from_config(alembic_config(bare_engine))
    assert set(script.get_heads()) == SCHEMA_HEADS, "update roster.db.SCHEMA_HEADS after adding a migration"


def test_open_database_upgrades_a_database_that_is_behind_and_skips_one_that_is_current(bare_engine):
    upgrade(bare_engine, FIRST_REVISION)
    assert not schema_is_current(bare_engine)
    open_database(bare_engine.url.render_as_string(hide_password=False)).dispose()
    assert _current_revisions(bare_engine) == SCHEMA_HEADS
    assert schema_is_current(bare_engine)
