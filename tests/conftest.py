"""Shared fixtures: a real SQLite file always, and a real PostgreSQL when configured.

Set ``DIVEBOAT_TEST_POSTGRES_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``)
and every test using ``db_url``/``engine``/``session`` runs against both backends.
Each PostgreSQL test gets its own schema (via ``search_path``), dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from roster.db import make_engine, normalise_url, open_database, session_factory

POSTGRES_URL = os.environ.get("DIVEBOAT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "run_last: a long test that runs after all the others")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``run_last`` (the benchmarks' short run) go after all the others."""
    items.sort(key=lambda item: item.get_closest_marker("run_last") is not None)  # stable: order kept otherwise


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path):
    """No test reads the developer's real settings, data directory or Twilio account."""
    for name in list(os.environ):
        if (name.startswith("DIVEBOAT_") and name != "DIVEBOAT_TEST_POSTGRES_URL") or name.startswith("TWILIO_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def _postgres_schema_url(schema: str) -> str:
    base = normalise_url(POSTGRES_URL)
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:
    """An empty database URL: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'diveboat.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield _postgres_schema_url(schema)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def engine(db_url) -> Iterator[sa.Engine]:
    """An engine on an upgraded (migrated) empty database."""
    engine = open_database(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def new_session(engine):
    """The session factory services receive."""
    return session_factory(engine)


@pytest.fixture
def session(new_session) -> Iterator[Session]:
    with new_session() as session:
        yield session
