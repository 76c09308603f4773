"""Opening databases: URLs, SQLite settings, and clear errors for databases that cannot be used."""

import pytest
import sqlalchemy as sa

from roster.db import DatabaseError, make_engine, normalise_url, open_database, read_session, session_factory, upgrade
from roster.models import Person


def test_postgres_urls_use_the_psycopg3_driver():
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "unsupported database 'mysql'"),
        ("not a url", "the database URL is not valid"),
        ("sqlite:////proc/no-such-dir/x.db", "cannot create the folder /proc/no-such-dir"),
    ],
)
def test_unusable_urls_raise_database_error(url, message):
    with pytest.raises(DatabaseError, match=message):
        make_engine(url)


def test_sqlite_file_and_its_folder_are_created_with_wal_and_busy_timeout(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'new' / 'folder' / 'diveboat.db'}")
    try:
        assert (tmp_path / "new" / "folder" / "diveboat.db").is_file()
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_a_file_that_is_not_a_database_gives_a_database_error(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("shopping list\n" * 100)
    engine = make_engine(f"sqlite:///{path}")
    with pytest.raises(DatabaseError, match="file is not a database"):
        upgrade(engine)
    engine.dispose()


def test_a_database_from_a_newer_version_gives_a_database_error(engine):
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(DatabaseError, match="newer Dive Boat"):
        upgrade(engine)


def test_open_database_still_upgrades_a_database_from_a_newer_version_into_an_error(engine):
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(DatabaseError, match="newer Dive Boat"):
        open_database(engine.url.render_as_string(hide_password=False))


def test_read_session_sees_data_while_a_sqlite_writer_holds_the_lock(tmp_path):
    """The dashboard reads (deferred BEGIN) never wait for a writer's BEGIN IMMEDIATE."""
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    try:
        with session_factory(engine)() as writer:
            writer.add(Person(name="Sam Okafor", phone="+447700900100", role="keyworker"))
            writer.commit()
            writer.add(Person(name="Jo Campbell", phone="+447700900101", role="keyworker"))
            writer.flush()  # holds the write lock, not committed
            with read_session(engine) as reader:
                assert [p.name for p in reader.exec(sa.select(Person)).scalars()] == ["Sam Okafor"]
            writer.commit()
    finally:
        engine.dispose()


def test_a_postgres_connection_that_died_while_idle_is_replaced_before_use(db_url, monkeypatch):
    """The pool pings connections that sat idle (here: any) and connects anew when one is dead."""
    if not db_url.startswith("postgres"):
        pytest.skip("PostgreSQL's pool only")
    monkeypatch.setattr("roster.db.POSTGRES_PING_AFTER_IDLE_SECONDS", 0.0)
    engine, killer = make_engine(db_url), make_engine(db_url)
    try:
        with engine.connect() as connection:
            pooled = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with killer.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"SELECT pg_terminate_backend({int(pooled)})")
            while connection.exec_driver_sql(f"SELECT count(*) FROM pg_stat_activity WHERE pid = {int(pooled)}").scalar():
                pass  # terminating takes a moment
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pooled
    finally:
        engine.dispose()
        killer.dispose()
