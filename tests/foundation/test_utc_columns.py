"""Datetimes are stored UTC-aware: naive values are refused, and values come back in UTC."""

from datetime import date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import select

from roster.models import AvailabilityWindow
from roster.timeutil import LONDON, UTC, ensure_aware, local_datetime, parse_when

PARIS_SUMMER = timezone(timedelta(hours=2))


def test_naive_datetime_is_refused_by_the_column(session, add_person):
    person = add_person()
    naive = datetime(2027, 3, 22, 9, 0)
    session.add(
        AvailabilityWindow(person_id=person.id, status="leave", starts_at=naive, ends_at=naive + timedelta(hours=8))
    )
    with pytest.raises(sa.exc.StatementError) as caught:
        session.flush()
    assert isinstance(caught.value.orig, ValueError)
    assert "naive datetime 2027-03-22T09:00:00 has no time zone" in str(caught.value.orig)
    session.rollback()
    assert session.exec(select(AvailabilityWindow)).all() == []


def test_naive_datetime_is_refused_in_a_where_clause(session):
    query = select(AvailabilityWindow).where(AvailabilityWindow.starts_at <= datetime(2027, 3, 22, 9, 0))
    with pytest.raises(sa.exc.StatementError, match="has no time zone"):
        session.exec(query).all()


def test_values_come_back_utc_aware_whatever_zone_they_went_in(new_session, add_person):
    person = add_person()
    starts = datetime(2027, 7, 1, 11, 30, 15, 250_000, tzinfo=PARIS_SUMMER)
    ends = datetime(2027, 7, 1, 18, 0, tzinfo=LONDON)
    with new_session() as session:
        session.add(AvailabilityWindow(person_id=person.id, status="in_field", starts_at=starts, ends_at=ends))
        session.commit()
    with new_session() as session:
        window = session.exec(select(AvailabilityWindow)).one()
    assert window.starts_at.tzinfo is UTC and window.ends_at.tzinfo is UTC
    assert window.created_at.tzinfo is UTC
    assert window.starts_at == datetime(2027, 7, 1, 9, 30, 15, 250_000, tzinfo=UTC)
    assert window.ends_at == datetime(2027, 7, 1, 17, 0, tzinfo=UTC)


def test_comparisons_in_sql_use_the_instant_not_the_wall_clock(session, add_person):
    person = add_person()
    starts = datetime(2027, 7, 1, 9, 0, tzinfo=UTC)
    session.add(
        AvailabilityWindow(person_id=person.id, status="leave", starts_at=starts, ends_at=starts + timedelta(hours=1))
    )
    session.commit()
    same_instant_in_paris = datetime(2027, 7, 1, 11, 0, tzinfo=PARIS_SUMMER)
    found = session.exec(select(AvailabilityWindow).where(AvailabilityWindow.starts_at == same_instant_in_paris)).all()
    assert len(found) == 1
    just_before = same_instant_in_paris - timedelta(microseconds=1)
    assert session.exec(select(AvailabilityWindow).where(AvailabilityWindow.starts_at <= just_before)).all() == []


def test_ensure_aware_converts_to_utc_and_refuses_naive():
    assert ensure_aware(datetime(2027, 7, 1, 10, 0, tzinfo=LONDON)) == datetime(2027, 7, 1, 9, 0, tzinfo=UTC)
    assert ensure_aware(datetime(2027, 7, 1, 10, 0, tzinfo=LONDON)).tzinfo is UTC
    with pytest.raises(ValueError, match="no time zone"):
        ensure_aware(datetime(2027, 7, 1, 10, 0))


def test_parse_when_reads_times_without_offset_as_london_wall_clock():
    assert parse_when("2027-03-22T09:30") == datetime(2027, 3, 22, 9, 30, tzinfo=UTC)
    assert parse_when("2027-03-29T09:30") == datetime(2027, 3, 29, 8, 30, tzinfo=UTC)
    assert parse_when("2027-03-29T09:30+00:00") == datetime(2027, 3, 29, 9, 30, tzinfo=UTC)
    assert parse_when("2027-03-29T09:30Z").tzinfo is UTC
    with pytest.raises(ValueError, match="is not an ISO time"):
        parse_when("next tuesday")


def test_local_datetime_keeps_wall_clock_across_dst():
    assert local_datetime(date(2027, 3, 22), time(9)) == datetime(2027, 3, 22, 9, 0, tzinfo=UTC)
    assert local_datetime(date(2027, 3, 29), time(9)) == datetime(2027, 3, 29, 8, 0, tzinfo=UTC)
    assert local_datetime(date(2027, 11, 1), time(9)) == datetime(2027, 11, 1, 9, 0, tzinfo=UTC)


def test_postgresql_stores_timestamps_with_time_zone(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no time zone column type")
    columns = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("availabilitywindow")}
    assert all(columns[name].timezone for name in ("starts_at", "ends_at", "created_at"))
