"""Who is available at T: the weekly rota in London wall-clock time, overridden by status windows."""

from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from roster.availability import available_at, set_status, shift_occurrences, statuses_at
from roster.models import AvailabilityWindow, Person, Role, RotaShift, Status
from roster.timeutil import LONDON, UTC

MONDAY = 0
MONDAY_GMT = date(2027, 3, 22)  # the Monday before the clocks go forward (28 March 2027)
MONDAY_BST = date(2027, 3, 29)
MONDAY_AFTER_AUTUMN = date(2027, 11, 1)  # the clocks went back on 31 October 2027


def london(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def add_shift(session):
    def add(person: Person, weekday: int, start: time, end: time, **validity) -> RotaShift:
        shift = RotaShift(person_id=person.id, weekday=weekday, start_time=start, end_time=end, **validity)
        session.add(shift)
        session.commit()
        return shift

    return add


@pytest.fixture
def add_window(session):
    def add(person: Person, status: Status, starts: datetime, ends: datetime, **fields) -> AvailabilityWindow:
        window = AvailabilityWindow(person_id=person.id, status=status.value, starts_at=starts, ends_at=ends, **fields)
        session.add(window)
        session.commit()
        return window

    return add


def names(people) -> list[str]:
    return [p.name for p in people]


@pytest.fixture
def monday_worker(add_person, add_shift):
    person = add_person("Sam Okafor")
    add_shift(person, MONDAY, time(9), time(17))
    return person


@pytest.mark.parametrize("day", [MONDAY_GMT, MONDAY_BST, MONDAY_AFTER_AUTUMN], ids=["gmt", "bst", "after-autumn"])
def test_day_shift_follows_the_london_wall_clock_across_dst(session, monday_worker, day):
    assert names(available_at(session, london(day, 9, 30))) == ["Sam Okafor"]
    assert names(available_at(session, london(day, 9, 0))) == ["Sam Okafor"]
    assert names(available_at(session, london(day, 16, 59))) == ["Sam Okafor"]
    assert available_at(session, london(day, 8, 30)) == []
    assert available_at(session, london(day, 17, 0)) == []
    assert available_at(session, london(day + timedelta(days=1), 9, 30)) == []


def test_in_bst_the_shift_starts_at_eight_utc(session, monday_worker):
    assert names(available_at(session, utc(2027, 3, 29, 8, 30))) == ["Sam Okafor"]
    assert available_at(session, utc(2027, 3, 22, 8, 30)) == []
    assert available_at(session, utc(2027, 3, 29, 16, 30)) == []
    assert names(available_at(session, utc(2027, 3, 22, 16, 30))) == ["Sam Okafor"]


def test_overnight_shift_covers_the_small_hours_of_the_next_day(session, add_person, add_shift):
    person = add_person("Drew Kowalski")
    add_shift(person, MONDAY, time(22), time(6))
    tuesday = MONDAY_BST + timedelta(days=1)
    assert names(available_at(session, london(MONDAY_BST, 22, 0))) == ["Drew Kowalski"]
    assert names(available_at(session, london(tuesday, 0, 0))) == ["Drew Kowalski"]
    assert names(available_at(session, london(tuesday, 2, 0))) == ["Drew Kowalski"]
    assert available_at(session, london(tuesday, 6, 0)) == []
    assert available_at(session, london(MONDAY_BST, 21, 59)) == []
    assert available_at(session, london(MONDAY_BST, 2, 0)) == []  # Sunday night has no shift
    assert available_at(session, london(tuesday, 22, 30)) == []


def test_overnight_shift_through_the_spring_change(session, add_person, add_shift):
    person = add_person("Drew Kowalski")
    add_shift(person, 5, time(22), time(6))  # Saturday 27 March 2027 into Sunday, when clocks go forward
    sunday = date(2027, 3, 28)
    assert names(available_at(session, utc(2027, 3, 28, 0, 30))) == ["Drew Kowalski"]  # 00:30 GMT
    assert names(available_at(session, london(sunday, 5, 30))) == ["Drew Kowalski"]  # 05:30 BST
    assert available_at(session, london(sunday, 6, 0)) == []
    shift = session.exec(select(RotaShift)).one()
    assert shift_occurrences(shift, date(2027, 3, 27)) == (utc(2027, 3, 27, 22), utc(2027, 3, 28, 5))  # 7 hours


@pytest.mark.parametrize("status", [Status.LEAVE, Status.SICK, Status.OFF])
def test_a_window_away_during_a_shift_makes_the_person_unavailable(session, monday_worker, add_window, status):
    add_window(monday_worker, status, london(MONDAY_BST, 0), london(MONDAY_BST + timedelta(days=1), 0))
    assert available_at(session, london(MONDAY_BST, 9, 30)) == []
    assert names(available_at(session, london(MONDAY_GMT, 9, 30))) == ["Sam Okafor"]


def test_in_field_outside_the_rota_makes_the_person_available(session, monday_worker, add_window):
    add_window(monday_worker, Status.IN_FIELD, london(MONDAY_BST, 7), london(MONDAY_BST, 8, 45))
    assert names(available_at(session, london(MONDAY_BST, 8, 30))) == ["Sam Okafor"]
    assert available_at(session, london(MONDAY_BST, 8, 50)) == []  # the window ended, shift not started
    assert names(available_at(session, london(MONDAY_BST, 9, 0))) == ["Sam Okafor"]


def test_window_boundaries_start_inclusive_end_exclusive(session, monday_worker, add_window):
    add_window(monday_worker, Status.SICK, london(MONDAY_BST, 10), london(MONDAY_BST, 12))
    assert names(available_at(session, london(MONDAY_BST, 9, 59))) == ["Sam Okafor"]
    assert available_at(session, london(MONDAY_BST, 10)) == []
    assert names(available_at(session, london(MONDAY_BST, 12))) == ["Sam Okafor"]


def test_the_newest_window_wins(session, monday_worker, add_window):
    whole_day = (london(MONDAY_BST, 0), london(MONDAY_BST + timedelta(days=1), 0))
    add_window(monday_worker, Status.LEAVE, *whole_day, created_at=utc(2027, 3, 20, 12))
    add_window(monday_worker, Status.IN_FIELD, london(MONDAY_BST, 9), london(MONDAY_BST, 11), created_at=utc(2027, 3, 29, 8))
    assert names(available_at(session, london(MONDAY_BST, 10))) == ["Sam Okafor"]
    assert available_at(session, london(MONDAY_BST, 11, 30)) == []
    add_window(monday_worker, Status.SICK, *whole_day, created_at=utc(2027, 3, 29, 8, 30))
    assert available_at(session, london(MONDAY_BST, 10)) == []
    assert statuses_at(session, london(MONDAY_BST, 10))[0].status is Status.SICK


def test_an_older_window_entered_later_does_not_win(session, monday_worker, add_window):
    """Newest means most recently recorded (created_at), not latest starting."""
    add_window(monday_worker, Status.IN_FIELD, london(MONDAY_BST, 9), london(MONDAY_BST, 12), created_at=utc(2027, 3, 29, 9))
    add_window(monday_worker, Status.SICK, london(MONDAY_BST, 10), london(MONDAY_BST, 11), created_at=utc(2027, 3, 29, 7))
    assert names(available_at(session, london(MONDAY_BST, 10, 30))) == ["Sam Okafor"]


def test_set_status_records_a_window_that_overrides_the_rota(session, monday_worker):
    set_status(
        session, monday_worker.id, "sick", until=london(MONDAY_BST, 17), starts_at=london(MONDAY_BST, 8), note="flu"
    )
    assert available_at(session, london(MONDAY_BST, 9, 30)) == []
    with pytest.raises(ValueError, match="end of a status must be after its start"):
        set_status(session, monday_worker.id, Status.LEAVE, until=london(MONDAY_BST, 8), starts_at=london(MONDAY_BST, 9))
    with pytest.raises(LookupError):
        set_status(session, 9999, Status.LEAVE, until=london(MONDAY_BST, 9), starts_at=london(MONDAY_BST, 8))
    with pytest.raises(ValueError):
        set_status(session, monday_worker.id, "asleep", until=london(MONDAY_BST, 9), starts_at=london(MONDAY_BST, 8))


def test_shift_valid_from_and_valid_until(session, add_person, add_shift):
    starter = add_person("New Starter")
    add_shift(starter, MONDAY, time(9), time(17), valid_from=MONDAY_BST)
    leaver = add_person("Leaver")
    add_shift(leaver, MONDAY, time(9), time(17), valid_until=MONDAY_GMT)
    assert names(available_at(session, london(MONDAY_GMT, 10))) == ["Leaver"]
    assert names(available_at(session, london(MONDAY_BST, 10))) == ["New Starter"]


def test_overnight_shift_on_its_last_valid_day_still_covers_the_next_morning(session, add_person, add_shift):
    person = add_person("Drew Kowalski")
    add_shift(person, MONDAY, time(22), time(6), valid_until=MONDAY_BST)
    tuesday = MONDAY_BST + timedelta(days=1)
    assert names(available_at(session, london(tuesday, 2))) == ["Drew Kowalski"]
    assert available_at(session, london(tuesday + timedelta(days=7), 2)) == []


def test_inactive_people_are_never_available(session, add_person, add_shift, add_window):
    person = add_person("Gone Away", active=False)
    add_shift(person, MONDAY, time(9), time(17))
    add_window(person, Status.IN_FIELD, london(MONDAY_BST, 0), london(MONDAY_BST, 23))
    assert available_at(session, london(MONDAY_BST, 10)) == []
    assert statuses_at(session, london(MONDAY_BST, 10)) == []
    everyone = statuses_at(session, london(MONDAY_BST, 10), include_inactive=True)
    assert [(s.person.name, s.status) for s in everyone] == [("Gone Away", Status.IN_FIELD)]


def test_roles_filter(session, add_person, add_shift):
    for name, role in [("Sam Okafor", Role.KEYWORKER), ("Dr Nadia Haddad", Role.METATEAM), ("Kim Walsh", Role.EXPERT_BY_EXPERIENCE)]:
        add_shift(add_person(name, role), MONDAY, time(9), time(17))
    at = london(MONDAY_BST, 10)
    assert names(available_at(session, at)) == ["Kim Walsh", "Sam Okafor", "Dr Nadia Haddad"]  # by role, then name
    assert names(available_at(session, at, roles=["metateam"])) == ["Dr Nadia Haddad"]
    assert names(available_at(session, at, roles=["metateam", "keyworker"])) == ["Sam Okafor", "Dr Nadia Haddad"]


def test_naive_moment_is_refused(session):
    with pytest.raises(ValueError, match="no time zone"):
        available_at(session, datetime(2027, 3, 29, 10))


def test_statuses_at_gives_shift_and_next_change(session, monday_worker, add_person, add_shift, add_window):
    idle = add_person("Alex Rivera")
    add_shift(idle, 1, time(12), time(20))  # Tuesdays only
    away = add_person("Quinn Fraser")
    add_shift(away, MONDAY, time(9), time(17))
    add_window(away, Status.LEAVE, london(MONDAY_BST, 0), london(MONDAY_BST, 13), note="dentist")

    by_name = {s.person.name: s for s in statuses_at(session, london(MONDAY_BST, 9, 30))}
    sam, alex, quinn = by_name["Sam Okafor"], by_name["Alex Rivera"], by_name["Quinn Fraser"]
    assert (sam.status, sam.shift, sam.next_change, sam.reachable) == (
        Status.ON_DUTY, (time(9), time(17)), utc(2027, 3, 29, 16), True,
    )
    assert (alex.status, alex.shift, alex.next_change, alex.reachable) == (
        Status.OFF, None, utc(2027, 3, 30, 11), False,
    )
    assert (quinn.status, quinn.note, quinn.next_change, quinn.reachable) == (
        Status.LEAVE, "dentist", utc(2027, 3, 29, 12), False,
    )
    assert quinn.shift == (time(9), time(17))


def test_statuses_at_before_the_shift_points_at_its_start(session, monday_worker):
    [sam] = statuses_at(session, london(MONDAY_GMT, 8, 30))
    assert (sam.status, sam.shift, sam.next_change) == (Status.OFF, None, utc(2027, 3, 22, 9))
    [sam] = statuses_at(session, london(MONDAY_BST, 8, 30))
    assert sam.next_change == utc(2027, 3, 29, 8)


def test_statuses_at_an_upcoming_window_is_the_next_change(session, add_person, add_window):
    person = add_person("No Rota")
    add_window(person, Status.IN_FIELD, london(MONDAY_BST, 14), london(MONDAY_BST, 16))
    [status] = statuses_at(session, london(MONDAY_BST, 10))
    assert (status.status, status.next_change) == (Status.OFF, utc(2027, 3, 29, 13))
    [status] = statuses_at(session, london(MONDAY_BST, 15))
    assert (status.status, status.next_change) == (Status.IN_FIELD, utc(2027, 3, 29, 15))


def test_statuses_at_overnight_shift(session, add_person, add_shift):
    person = add_person("Drew Kowalski")
    add_shift(person, MONDAY, time(22), time(6))
    [status] = statuses_at(session, london(MONDAY_BST + timedelta(days=1), 2))
    assert (status.status, status.shift, status.next_change) == (Status.ON_DUTY, (time(22), time(6)), utc(2027, 3, 30, 5))


def test_shift_occurrences_give_utc_spans_on_the_shift_weekday_only(monday_worker, session):
    shift = session.exec(select(RotaShift)).one()
    assert shift_occurrences(shift, MONDAY_GMT) == (utc(2027, 3, 22, 9), utc(2027, 3, 22, 17))
    assert shift_occurrences(shift, MONDAY_BST) == (utc(2027, 3, 29, 8), utc(2027, 3, 29, 16))
    assert shift_occurrences(shift, MONDAY_BST + timedelta(days=1)) is None


def _capture_statements(engine):
    captured: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _executemany):
        captured.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    return captured, lambda: sa.event.remove(engine, "before_cursor_execute", record)


def test_who_is_available_is_one_indexed_query(engine, new_session, monday_worker):
    captured, stop = _capture_statements(engine)
    try:
        with new_session() as session:
            assert names(available_at(session, london(MONDAY_BST, 10))) == ["Sam Okafor"]
    finally:
        stop()
    selects = [(s, p) for s, p in captured if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1, "available_at must be a single SQL statement"
    statement, parameters = selects[0]
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            plan = "\n".join(row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
            assert "SEARCH availabilitywindow USING INDEX ix_window_person_span (person_id=?" in plan, plan
            assert "SCAN rotashift" not in plan, plan
        else:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # tiny tables: ask which index it would use
            plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))
            assert "ix_window_person_span on availabilitywindow" in plan, plan
            assert "Seq Scan on rotashift" not in plan, plan


def test_next_change_is_a_window_starting_during_the_shift(session, monday_worker, add_window):
    add_window(monday_worker, Status.SICK, london(MONDAY_BST, 13), london(MONDAY_BST, 17), note="went home ill")
    [sam] = statuses_at(session, london(MONDAY_BST, 10))
    assert (sam.status, sam.next_change) == (Status.ON_DUTY, utc(2027, 3, 29, 12))


def test_next_change_is_a_newer_window_starting_during_a_window(session, add_person, add_window):
    person = add_person("Alex Rivera")
    add_window(person, Status.LEAVE, london(MONDAY_BST, 0), london(MONDAY_BST, 23), created_at=utc(2027, 3, 1))
    add_window(person, Status.IN_FIELD, london(MONDAY_BST, 14), london(MONDAY_BST, 15), created_at=utc(2027, 3, 29, 9))
    [alex] = statuses_at(session, london(MONDAY_BST, 10))
    assert (alex.status, alex.next_change) == (Status.LEAVE, utc(2027, 3, 29, 13))


def test_an_older_window_starting_later_does_not_change_the_status(session, add_person, add_window):
    person = add_person("Alex Rivera")
    add_window(person, Status.IN_FIELD, london(MONDAY_BST, 14), london(MONDAY_BST, 15), created_at=utc(2027, 3, 1))
    add_window(person, Status.LEAVE, london(MONDAY_BST, 0), london(MONDAY_BST, 23), created_at=utc(2027, 3, 29, 9))
    [alex] = statuses_at(session, london(MONDAY_BST, 10))
    assert (alex.status, alex.next_change) == (Status.LEAVE, utc(2027, 3, 29, 22))
    assert statuses_at(session, london(MONDAY_BST, 14, 30))[0].status is Status.LEAVE
