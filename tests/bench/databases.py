"""Fresh benchmark databases: a SQLite file always, and a PostgreSQL schema when configured.

Set ``DIVEBOAT_TEST_POSTGRES_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``) and
every database benchmark runs on both backends; each run gets its own schema, dropped after.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from roster.db import make_engine, normalise_url, open_database

POSTGRES_ENV = "DIVEBOAT_TEST_POSTGRES_URL"


def backends() -> list[str]:
    """The backends to measure: ``sqlite``, plus ``postgres`` when its URL is set."""
    return ["sqlite"] + (["postgres"] if os.environ.get(POSTGRES_ENV) else [])


@contextmanager
def fresh_url(backend: str, workdir: Path | None = None) -> Iterator[str]:
    """An empty database URL on ``backend``; removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(dir=workdir, prefix="bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'diveboat.db'}"
        return
    base = os.environ[POSTGRES_ENV]
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = normalise_url(base)
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@contextmanager
def fresh_engine(backend: str, workdir: Path | None = None) -> Iterator[tuple[str, sa.Engine]]:
    """A migrated empty database on ``backend``: its URL and an engine."""
    with fresh_url(backend, workdir) as url:
        engine = open_database(url)
        try:
            yield url, engine
        finally:
            engine.dispose()


def analyse(engine: sa.Engine) -> None:
    """On PostgreSQL, refresh the planner's statistics after a bulk load, as autovacuum would
    soon after. SQLite is left as the app leaves it (no ``ANALYZE``)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")


def checkpoint(engine: sa.Engine) -> None:
    """On PostgreSQL, write the server's dirty pages out now (``CHECKPOINT``), so its timed
    checkpoint (every 5 minutes by default) does not fall inside the run that follows.

    Seen here: a timed checkpoint whose last step flushed 7,491 files (the tables and indexes
    of the schemas benchmarks and tests create and drop) took 0.68 s, and a reply run it
    fell into had a p99 of 518 ms, against 18-43 ms in the runs around it. Without the
    right to checkpoint (superuser or ``pg_checkpoint``) the server is measured as it is.
    """
    if engine.dialect.name != "postgresql":
        return
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("CHECKPOINT")
    except sa.exc.DBAPIError:
        pass


def vacuum_catalogs() -> str | None:
    """On the PostgreSQL test server, ``VACUUM`` the system catalogs before measuring; returns
    why it could not, or None.

    Every benchmark and test schema created and dropped leaves dead catalog rows, and where
    autovacuum is off (as on this project's CI machine) they pile up: 110,000 in
    ``pg_attribute`` after a day of runs, which every new server connection reads past.
    """
    if not os.environ.get(POSTGRES_ENV):
        return None
    engine = make_engine(os.environ[POSTGRES_ENV])
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("pg_attribute", "pg_depend", "pg_class", "pg_type", "pg_constraint", "pg_index",
                          "pg_trigger", "pg_attrdef", "pg_namespace"):
                connection.exec_driver_sql(f"VACUUM pg_catalog.{table}")
    except sa.exc.DBAPIError as error:  # not the catalogs' owner: measure as the server is
        return str(error.orig).splitlines()[0]
    finally:
        engine.dispose()
    return None
