"""Planning a year against hand-worked calendars (England and Wales, 2027)."""

from datetime import date, time, timedelta

from sqlmodel import select

from roster.supervision.agreements import create_group
from roster.supervision.changes import cancel, postpone
from roster.supervision.models import SupervisionAgreement, SupervisionSession
from roster.supervision.planner import plan_year
from roster.supervision.series import load_series
from roster.supervision.state import set_region
from roster.supervision.workdays import HolidayRegion, WorkingCalendar
from roster.timeutil import LONDON

from tests.supervision.conftest import NOW, agree, days, leave, local_starts

ENGLAND = WorkingCalendar()


def test_asye_is_fortnightly_for_six_months_then_four_weekly(session, make_person):
    manager = make_person("Morgan Ellis", role="manager")
    asye = make_person("Taylor Brooks", practice_stage="asye", stage_date=date(2027, 1, 4))
    agreement = agree(session, manager, asye, weekday=0)

    plan_year(session, 2027, now=NOW)

    assert days(session, agreement.id) == [
        date(2027, 1, 4), date(2027, 1, 18), date(2027, 2, 1), date(2027, 2, 15), date(2027, 3, 1),
        date(2027, 3, 15),
        date(2027, 3, 25),  # Thu: Good Friday 26 and Easter Monday 29 March; later would pass the fortnight
        date(2027, 4, 5),  # back on a Monday, eleven days later
        date(2027, 4, 19),
        date(2027, 4, 30),  # Fri: Early May bank holiday on Monday 3 May
        date(2027, 5, 10), date(2027, 5, 24), date(2027, 6, 7), date(2027, 6, 21),
        date(2027, 7, 5),  # the last fortnightly one: six months of ASYE end on 4 July
        date(2027, 8, 2),  # then 4-weekly
        date(2027, 8, 27),  # Fri: Late Summer bank holiday on Monday 30 August
        date(2027, 9, 20), date(2027, 10, 18), date(2027, 11, 15), date(2027, 12, 13),
    ]
    gaps = [(b - a).days for a, b in zip(days(session, agreement.id), days(session, agreement.id)[1:])]
    assert max(gaps[:14]) == 14 and max(gaps[14:]) == 28
    assert all(moment.time() == time(10, 0) for moment in local_starts(session, agreement.id))


def test_part_timer_sessions_are_twenty_working_days_apart(session, make_person):
    manager = make_person("Priya Shah", role="manager")
    part_timer = make_person("Robin Hughes", employment="part_time")
    agreement = agree(session, manager, part_timer, start_time=time(14, 0))

    plan_year(session, 2027, now=NOW)

    planned = days(session, agreement.id)
    assert planned == [
        date(2027, 1, 4),  # 1 January is a bank holiday
        date(2027, 2, 1), date(2027, 3, 1),
        date(2027, 3, 31),  # Good Friday and Easter Monday push it two days on
        date(2027, 4, 28),
        date(2027, 5, 27),  # Early May and Spring bank holidays
        date(2027, 6, 25), date(2027, 7, 23), date(2027, 8, 20),
        date(2027, 9, 20),  # Late Summer bank holiday
        date(2027, 10, 18), date(2027, 11, 15), date(2027, 12, 13),
    ]
    assert all(ENGLAND.working_days_between(a, b) == 20 for a, b in zip(planned, planned[1:]))


def test_a_session_across_the_october_clock_change_keeps_its_local_time(session, make_person):
    manager = make_person("Morgan Ellis", role="manager")
    worker = make_person("Sam Okafor")
    agreement = agree(session, manager, worker, frequency="1w", weekday=3, start_time=time(9, 30), starts_on=date(2027, 10, 21))

    plan_year(session, 2027, now=NOW)

    starts = local_starts(session, agreement.id)[:3]
    assert [s.date() for s in starts] == [date(2027, 10, 21), date(2027, 10, 28), date(2027, 11, 4)]
    assert {s.time() for s in starts} == {time(9, 30)}
    utc = [s.astimezone(LONDON).utcoffset() for s in starts]
    assert utc == [timedelta(hours=1), timedelta(hours=1), timedelta(0)]  # BST, BST, then GMT from 31 October


def test_no_session_on_weekends_bank_holidays_or_leave_and_intervals_hold(session, make_person):
    manager = make_person("Morgan Ellis", role="manager")
    clinician = make_person("Dr Leah Goldberg", role="metateam")
    stages = [("asye", date(2027, 2, 1)), ("probation", date(2027, 6, 30)), ("qualified", None), ("other_staff", None)]
    agreements = []
    for index in range(20):
        stage, stage_date = stages[index % 4]
        worker = make_person(
            f"Worker {index:02d}", practice_stage=stage, stage_date=stage_date,
            employment="part_time" if index % 5 == 0 else "full_time",
        )
        agreements.append(agree(session, manager, worker, weekday=index % 5, start_time=time(9 + index % 7, 0)))
        if index % 3 == 0:
            agreements.append(agree(session, clinician, worker, kind="clinical", weekday=(index + 2) % 5))
    leave(session, manager, date(2027, 8, 2), date(2027, 8, 6))
    leave(session, clinician, date(2027, 4, 12), date(2027, 4, 16))

    result = plan_year(session, 2027, now=NOW)
    assert result.late == []

    rows = list(session.exec(select(SupervisionSession)))
    assert len(rows) == result.booked > 300
    for row in rows:
        local = row.starts_at.astimezone(LONDON)
        assert ENGLAND.is_working_day(local.date()), local
        assert not (date(2027, 8, 2) <= local.date() <= date(2027, 8, 6)) or row.agreement_id not in {
            a.id for a in agreements if a.supervisor_id == manager.id
        }
    by_person: dict[int, list[SupervisionSession]] = {}
    series = {s.agreement.id: s for s in load_series(session) if s.agreement}
    for row in rows:
        for person_id in series[row.agreement_id].attendee_ids:
            by_person.setdefault(person_id, []).append(row)
    for sessions in by_person.values():  # nobody is booked twice at once
        sessions.sort(key=lambda r: r.starts_at)
        assert all(a.ends_at <= b.starts_at for a, b in zip(sessions, sessions[1:]))
    for agreement in agreements:
        planned = days(session, agreement.id)
        item = series[agreement.id]
        for previous, following in zip(planned, planned[1:]):
            assert following <= item.frequency_at(previous).latest_after(previous, ENGLAND), (item.title, previous)


def test_leave_moves_a_session_to_the_nearest_earlier_free_day(session, make_person):
    manager = make_person("Morgan Ellis", role="manager")
    worker = make_person("Jo Campbell")
    agreement = agree(session, manager, worker, weekday=0, frequency="4w")
    leave(session, worker, date(2027, 2, 1), date(2027, 2, 5))  # the second Monday's week

    plan_year(session, 2027, now=NOW)

    assert days(session, agreement.id)[:3] == [date(2027, 1, 4), date(2027, 1, 29), date(2027, 2, 22)]


def test_sickness_is_not_planned_around(session, make_person):
    manager = make_person("Morgan Ellis", role="manager")
    worker = make_person("Jo Campbell")
    agreement = agree(session, manager, worker, weekday=0, frequency="4w")
    leave(session, worker, date(2027, 2, 1), date(2027, 2, 5), status="sick")

    plan_year(session, 2027, now=NOW)

    assert days(session, agreement.id)[1] == date(2027, 2, 1)


def test_a_clash_for_the_supervisor_takes_another_time_that_day(session, make_person):
    manager = make_person("Morgan Ellis", role="manager")
    first = agree(session, manager, make_person("Sam Okafor"), weekday=1, frequency="4w")
    second = agree(session, manager, make_person("Alex Rivera"), weekday=1, frequency="4w")

    plan_year(session, 2027, now=NOW)

    a, b = local_starts(session, first.id)[0], local_starts(session, second.id)[0]
    assert a.date() == b.date() == date(2027, 1, 5)
    assert (a.time(), b.time()) == (time(10, 0), time(11, 30))


def test_planning_is_idempotent_and_never_drops_a_booked_session(session, make_person):
    manager = make_person("Morgan Ellis", role="manager")
    agreement = agree(session, manager, make_person("Sam Okafor"), weekday=0, frequency="2w")
    first = plan_year(session, 2027, now=NOW)
    again = plan_year(session, 2027, now=NOW)
    assert (again.booked, again.kept) == (0, first.booked)

    rows = list(session.exec(select(SupervisionSession).order_by(SupervisionSession.starts_at)))
    postpone(session, rows[3].id, "supervisor in court", now=NOW)
    cancel(session, rows[5].id, "supervisee ill", now=NOW)
    stored = session.get(SupervisionAgreement, agreement.id)
    stored.frequency = "4w"  # the rule changes: existing sessions stay
    session.add(stored)
    session.commit()
    ids = {r.id for r in rows}

    replanned = plan_year(session, 2027, now=NOW)

    after = {r.id: r for r in session.exec(select(SupervisionSession))}
    assert ids <= set(after)
    assert after[rows[3].id].status == "postponed" and after[rows[5].id].status == "cancelled"
    assert replanned.booked == 0  # 4-weekly is already met by the fortnightly sessions left


def test_replanning_fills_a_gap_left_by_a_cancellation(session, make_person):
    manager = make_person("Morgan Ellis", role="manager")
    agreement = agree(session, manager, make_person("Sam Okafor"), weekday=0, frequency="4w")
    plan_year(session, 2027, now=NOW)
    before = days(session, agreement.id)
    row = session.exec(select(SupervisionSession).order_by(SupervisionSession.starts_at)).all()[2]
    cancel(session, row.id, "room flooded", now=NOW)

    result = plan_year(session, 2027, now=NOW)

    assert result.booked == 1
    occurring = [r.starts_at.astimezone(LONDON).date() for r in session.exec(
        select(SupervisionSession).where(SupervisionSession.status == "booked").order_by(SupervisionSession.starts_at)
    )]
    assert occurring == before  # the same Monday, booked afresh (the cancelled one stays cancelled)


def test_no_session_is_booked_in_the_past(session, make_person):
    manager = make_person("Morgan Ellis", role="manager")
    agreement = agree(session, manager, make_person("Sam Okafor"), weekday=0, frequency="4w")
    mid_year = NOW.replace(year=2027, month=6, day=10)

    plan_year(session, 2027, now=mid_year)

    assert days(session, agreement.id)[0] == date(2027, 6, 14)


def test_groups_are_planned_first_and_one_to_ones_fit_around_them(session, make_person, make_team):
    team = make_team("North Outreach")
    chair = make_person("Dr Nadia Haddad", role="metateam", team=team)
    manager = make_person("Morgan Ellis", role="manager", team=team)
    worker = make_person("Sam Okafor", team=team)
    group = create_group(
        session, "North reflective group", "reflective_group", chair, [manager, worker],
        starts_on=date(2027, 1, 4), team_id=team.id, weekday=1, start_time=time(10, 0), now=NOW,
    )
    session.commit()
    agreement = agree(session, manager, worker, weekday=1, frequency="2w")

    plan_year(session, 2027, now=NOW)

    groups = local_starts(session, group_id=group.id)
    assert groups[0].date() == date(2027, 1, 5) and (groups[0].time(), len(groups)) == (time(10, 0), 26)
    one_to_one = local_starts(session, agreement.id)
    assert one_to_one[0].date() == date(2027, 1, 5) and one_to_one[0].time() == time(12, 0)


def test_team_option_plans_only_that_teams_people(session, make_person, make_team):
    north, south = make_team("North Outreach"), make_team("South Outreach")
    manager = make_person("Morgan Ellis", role="manager")
    agree(session, manager, make_person("Sam Okafor", team=north), weekday=0)
    south_agreement = agree(session, manager, make_person("Casey Lloyd", team=south), weekday=2)

    result = plan_year(session, 2027, now=NOW, team_id=north.id)

    assert result.series == 1 and result.booked > 0
    assert days(session, south_agreement.id) == []


def test_scottish_bank_holidays_when_selected(session, make_person):
    set_region(session, HolidayRegion.SCOTLAND, NOW)
    session.commit()
    manager = make_person("Morgan Ellis", role="manager")
    agreement = agree(session, manager, make_person("Sam Okafor"), weekday=0, frequency="4w")

    plan_year(session, 2027, now=NOW)

    planned = days(session, agreement.id)
    assert planned[0] == date(2027, 1, 5)  # 4 January is the observed 2 January holiday in Scotland
    assert date(2027, 3, 29) in planned or date(2027, 3, 22) in planned  # Easter Monday is a working day there
    assert all(WorkingCalendar(HolidayRegion.SCOTLAND).is_working_day(d) for d in planned)


def test_an_unavoidable_gap_is_booked_as_soon_as_possible_and_reported(session, make_person):
    manager = make_person("Morgan Ellis", role="manager")
    agreement = agree(session, manager, make_person("Sam Okafor"), weekday=0, frequency="2w")
    leave(session, manager, date(2027, 2, 8), date(2027, 2, 26))  # three weeks away

    result = plan_year(session, 2027, now=NOW)

    assert days(session, agreement.id)[:5] == [
        date(2027, 1, 4), date(2027, 1, 18), date(2027, 2, 1),
        date(2027, 2, 5),  # the last day before the leave keeps the fortnight as long as possible
        date(2027, 3, 1),  # the first Monday back: late, and reported
    ]
    assert result.late == ["Supervision: Morgan / Sam on 2027-03-01: no free day within every 2 weeks"]


def test_two_planners_at_once_book_each_session_once(session, make_person, new_session):
    import threading

    from roster.supervision.agreements import default_agreements

    manager = make_person("Morgan Ellis", role="manager")
    for index in range(6):
        make_person(f"Worker {index}", line_manager_id=manager.id)
    errors = []

    def run() -> None:
        try:
            with new_session() as own:
                default_agreements(own, starts_on=date(2027, 1, 4), now=NOW)
                plan_year(own, 2027, now=NOW)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(session.exec(select(SupervisionAgreement)).all()) == 6
    rows = session.exec(select(SupervisionSession)).all()
    assert len({(r.agreement_id, r.starts_at) for r in rows}) == len(rows) > 6 * 12
