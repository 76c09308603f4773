"""Read again only when it may have changed: the database was written, or something in it is due to change."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa

from roster.availability import set_status
from roster.board import board_reader
from roster.db import READ_MAX_AGE, ChangeWatch, make_engine, session_factory
from roster.models import RotaShift, Status
from roster.supervision.compliance import compliance_reader
from roster.timeutil import LONDON

# Wednesday 10 March 2027, 11:00 in London (GMT)
NOW = datetime(2027, 3, 10, 11, 0, tzinfo=LONDON)
WEDNESDAY = 2


def unchanged_back_to_back(watch: ChangeWatch) -> bool:
    """Whether two markers read back to back agree (PostgreSQL's WAL position is the whole
    server's: a checkpoint could move it in between, so one of three tries must agree)."""
    return any(watch.marker() == watch.marker() for _ in range(3))


def test_the_marker_stays_while_nobody_writes_and_moves_after_any_commit(engine, db_url, add_person):
    watch = ChangeWatch(engine)
    try:
        assert watch.marker() is not None
        assert unchanged_back_to_back(watch)
        with engine.connect() as connection:  # a read changes nothing
            connection.execute(sa.text("SELECT count(*) FROM person")).scalar()
        before = watch.marker()
        add_person("Sam Okafor")  # this process, another connection
        assert watch.marker() != before
        other = make_engine(db_url)  # stands in for another process
        try:
            before = watch.marker()
            with other.begin() as connection:
                connection.execute(sa.text("UPDATE person SET name = 'Sam O.'"))
            assert watch.marker() != before
        finally:
            other.dispose()
    finally:
        watch.close()
    assert watch.marker() is not None  # opens again after close
    watch.close()


def test_sqlite_watch_holds_no_transaction_open(tmp_path):
    """The watch's own connection reads outside any transaction, so the WAL can be checkpointed past it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'watched.db'}")
    watch = ChangeWatch(engine)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        watch.marker()
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (2)")
        checkpointing = engine.raw_connection()  # outside any transaction, as the watch is
        try:
            busy, _, _ = checkpointing.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            checkpointing.close()
        assert busy == 0
    finally:
        watch.close()
        engine.dispose()


@pytest.fixture
def worker_on_shift(session, add_person):
    """Sam, on shift 09:00-17:00 London time on Wednesdays."""
    sam = add_person("Sam Okafor")
    session.add(RotaShift(person_id=sam.id, weekday=WEDNESDAY, start_time=time(9), end_time=time(17)))
    session.commit()
    return sam


def test_the_board_is_read_again_only_when_it_may_have_changed(engine, db_url, worker_on_shift):
    reader = board_reader(engine)
    try:
        board = reader.read(NOW)
        assert [e.status for e in board.entries] == [Status.ON_DUTY]
        assert board.next_change == NOW.replace(hour=17)  # the shift's end, more than a minute away
        assert reader.read(NOW + timedelta(seconds=30)) is None
        assert reader.reads == 1

        assert reader.read(NOW + timedelta(seconds=30), force=True) is not None  # asked for
        assert reader.reads == 2

        other = make_engine(db_url)  # another process marks Sam sick
        try:
            with session_factory(other)() as session:
                set_status(session, worker_on_shift.id, Status.SICK, NOW + timedelta(hours=3), starts_at=NOW)
        finally:
            other.dispose()
        board = reader.read(NOW + timedelta(seconds=31))
        assert board is not None and [e.status for e in board.entries] == [Status.SICK]
        assert reader.read(NOW + timedelta(seconds=32)) is None
    finally:
        reader.close()


def test_a_status_due_to_change_is_read_again_at_that_moment(engine, worker_on_shift):
    near_the_end = NOW.replace(hour=16, minute=59, second=30)
    reader = board_reader(engine)
    try:
        board = reader.read(near_the_end)
        assert [e.status for e in board.entries] == [Status.ON_DUTY]
        shift_end = NOW.replace(hour=17, minute=0)
        assert board.next_change == shift_end
        assert reader.read(shift_end - timedelta(seconds=1)) is None
        board = reader.read(shift_end)
        assert board is not None and [e.status for e in board.entries] == [Status.OFF]
    finally:
        reader.close()


def test_a_board_older_than_its_moment_or_its_max_age_is_read_again(engine, worker_on_shift):
    reader = board_reader(engine)
    try:
        reader.read(NOW)
        assert reader.read(NOW - timedelta(seconds=1)) is not None  # a clock set back
        assert reader.read(NOW + READ_MAX_AGE) is not None
        assert reader.reads == 3
    finally:
        reader.close()


def test_the_compliance_view_is_read_again_when_a_new_day_begins(engine):
    reader = compliance_reader(engine)
    late = NOW.replace(hour=23, minute=59, second=30)
    try:
        assert reader.read(late).report.as_of == late.date()
        assert reader.read(late + timedelta(seconds=29)) is None
        midnight = late.replace(hour=0, minute=0, second=0) + timedelta(days=1)
        assert reader.read(midnight).report.as_of == midnight.date()
        assert reader.reads == 2
    finally:
        reader.close()
