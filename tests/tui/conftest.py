"""Fixtures for dashboard tests: the demo service at a fixed moment, and the app built on it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from roster.db import open_database, session_factory
from roster.demo import seed_demo
from roster.settings import Settings
from tui.app import create_app

# Wednesday 10 March 2027, 11:00 in London (GMT): most of the demo service is on shift.
NOW = datetime(2027, 3, 10, 11, 0, tzinfo=timezone.utc)


def fixed_clock() -> datetime:
    return NOW


@pytest.fixture
def demo_engine(engine):
    """The migrated test database (SQLite, and PostgreSQL when configured) with the demo seeded at NOW."""
    with session_factory(engine)() as session:
        seed_demo(session, NOW)
    return engine


@pytest.fixture
def demo_app(demo_engine, db_url):
    """The real dashboard on the demo database, with a fixed clock."""
    return create_app(Settings(db=db_url), demo_engine, clock=fixed_clock)


@pytest.fixture
def snapshot_app(tmp_path):
    """Like ``demo_app`` but always on a SQLite file, so snapshots do not depend on the backend."""
    url = f"sqlite:///{tmp_path / 'snapshot.db'}"
    engine = open_database(url)
    with session_factory(engine)() as session:
        seed_demo(session, NOW)
    yield create_app(Settings(db=url), engine, clock=fixed_clock)
    engine.dispose()
