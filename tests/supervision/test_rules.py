"""Frequency rules and working days, as pure functions."""

from datetime import date, timedelta

import pytest

from roster.supervision.rules import (
    FORTNIGHTLY,
    FOUR_WEEKLY,
    MONTHLY,
    TWENTY_WORKING_DAYS,
    Frequency,
    add_months,
    agreement_frequency,
    next_window,
    stage_frequency,
)
from roster.supervision.workdays import HolidayRegion, WorkingCalendar, parse_region

ENGLAND_2027 = {
    date(2027, 1, 1), date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 3),
    date(2027, 5, 31), date(2027, 8, 30), date(2027, 12, 27), date(2027, 12, 28),
}


def test_england_and_wales_2027_working_days():
    workdays = WorkingCalendar()
    non_working_weekdays = {
        date(2027, 1, 1) + timedelta(days=n)
        for n in range(365)
        if (date(2027, 1, 1) + timedelta(days=n)).weekday() < 5
        and not workdays.is_working_day(date(2027, 1, 1) + timedelta(days=n))
    }
    assert non_working_weekdays == ENGLAND_2027
    assert not workdays.is_working_day(date(2027, 1, 2))  # a Saturday
    assert workdays.holiday_name(date(2027, 3, 29)) == "Easter Monday"


def test_scotland_and_northern_ireland_are_selectable():
    scotland = WorkingCalendar(HolidayRegion.SCOTLAND)
    assert not scotland.is_working_day(date(2027, 1, 4))  # 2 January holiday, observed
    assert not scotland.is_working_day(date(2027, 8, 2))  # first Monday of August
    assert scotland.is_working_day(date(2027, 3, 29))  # no Easter Monday
    assert not scotland.is_working_day(date(2027, 11, 30))  # St Andrew's Day
    northern_ireland = WorkingCalendar(parse_region("Northern-Ireland"))
    assert not northern_ireland.is_working_day(date(2027, 3, 17))
    assert not northern_ireland.is_working_day(date(2027, 7, 12))
    with pytest.raises(ValueError, match="england-and-wales, scotland, northern-ireland"):
        parse_region("wales")


def test_working_day_arithmetic_skips_weekends_and_bank_holidays():
    workdays = WorkingCalendar()
    assert workdays.add_working_days(date(2027, 3, 25), 1) == date(2027, 3, 30)  # over Easter
    assert workdays.add_working_days(date(2027, 3, 1), 20) == date(2027, 3, 31)
    assert workdays.working_days_between(date(2027, 3, 1), date(2027, 3, 31)) == 20
    assert workdays.next_working_day(date(2027, 12, 25)) == date(2027, 12, 29)


@pytest.mark.parametrize(
    ("text", "frequency", "code", "words"),
    [
        ("2w", FORTNIGHTLY, "2w", "every 2 weeks"),
        (" 4W ", FOUR_WEEKLY, "4w", "every 4 weeks"),
        ("20wd", TWENTY_WORKING_DAYS, "20wd", "every 20 working days"),
        ("1m", MONTHLY, "1m", "every month"),
    ],
)
def test_frequency_rules_parse_and_describe(text, frequency, code, words):
    assert Frequency.parse(text) == frequency
    assert frequency.code == code
    assert frequency.describe() == words


@pytest.mark.parametrize("text", ["", "fortnightly", "0w", "2x", "w2"])
def test_bad_frequency_rules_are_refused_with_an_example(text):
    with pytest.raises(ValueError, match="e.g. 2w"):
        Frequency.parse(text)


def test_default_frequencies_follow_the_procedure():
    asye_start = date(2027, 1, 4)
    assert stage_frequency("asye", "full_time", asye_start, date(2027, 7, 3)) == FORTNIGHTLY
    assert stage_frequency("asye", "full_time", asye_start, date(2027, 7, 4)) == FOUR_WEEKLY  # after 6 months
    assert stage_frequency("probation", "full_time", date(2027, 4, 30), date(2027, 4, 29)) == FORTNIGHTLY
    assert stage_frequency("probation", "full_time", date(2027, 4, 30), date(2027, 4, 30)) == FOUR_WEEKLY
    assert stage_frequency("qualified", "full_time", None, date(2027, 1, 1)) == FOUR_WEEKLY
    assert stage_frequency("other_staff", "full_time", None, date(2027, 1, 1)) == FOUR_WEEKLY
    assert stage_frequency("qualified", "part_time", None, date(2027, 1, 1)) == TWENTY_WORKING_DAYS
    assert stage_frequency("asye", "part_time", asye_start, date(2027, 2, 1)) == FORTNIGHTLY  # ASYE rule first


def test_agreement_rule_wins_and_clinical_defaults_to_monthly():
    assert agreement_frequency("one_to_one", "3w", "asye", "full_time", date(2027, 1, 4), date(2027, 2, 1)) == Frequency(3, "weeks")
    assert agreement_frequency("clinical", None, "qualified", "full_time", None, date(2027, 2, 1)) == MONTHLY


def test_add_months_clips_to_the_end_of_the_month():
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2027, 3, 15), -3) == date(2026, 12, 15)


def test_window_comes_back_to_the_preferred_weekday_without_stretching_the_interval():
    workdays = WorkingCalendar()
    # moved to Thursday 25 March by Easter: the next Monday within two weeks is 5 April
    window = next_window(date(2027, 3, 25), FORTNIGHTLY, 0, date(2027, 1, 4), workdays)
    assert (window.target, window.latest) == (date(2027, 4, 5), date(2027, 4, 8))
    # first session: the first preferred weekday from the start
    first = next_window(None, FORTNIGHTLY, 2, date(2027, 1, 4), workdays)
    assert first.target == date(2027, 1, 6)
    # nearest day first, the earlier on a tie, never before the previous session
    assert list(window.candidate_days())[:3] == [date(2027, 4, 5), date(2027, 4, 4), date(2027, 4, 6)]
