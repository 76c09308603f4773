"""Working days: Monday to Friday except the bank holidays of a UK nation.

Bank holidays come from the maintained ``holidays`` library (England and Wales by
default; Scotland and Northern Ireland selectable). The supervision procedure counts
in working days: "Any postponed session must be reconvened within 5 working days."
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache

import holidays


class HolidayRegion(StrEnum):
    """Whose bank holidays apply."""

    ENGLAND_AND_WALES = "england-and-wales"
    SCOTLAND = "scotland"
    NORTHERN_IRELAND = "northern-ireland"


_SUBDIVISIONS = {
    HolidayRegion.ENGLAND_AND_WALES: "ENG",
    HolidayRegion.SCOTLAND: "SCT",
    HolidayRegion.NORTHERN_IRELAND: "NIR",
}


def parse_region(text: str) -> HolidayRegion:
    """A region from its name; raises ValueError naming the choices."""
    try:
        return HolidayRegion(text.strip().lower())
    except ValueError:
        choices = ", ".join(r.value for r in HolidayRegion)
        raise ValueError(f"unknown holiday region '{text}' (choose one of: {choices})") from None


@lru_cache(maxsize=None)
def bank_holidays(region: HolidayRegion, year: int) -> dict[date, str]:
    """A region's bank holidays in one year (computed once, then shared read-only)."""
    return dict(holidays.country_holidays("GB", subdiv=_SUBDIVISIONS[region], years=year).items())


class WorkingCalendar:
    """Which days are working days in one region."""

    def __init__(self, region: HolidayRegion | str = HolidayRegion.ENGLAND_AND_WALES) -> None:
        self.region = HolidayRegion(region)
        self._added: dict[tuple[date, int], date] = {}  # add_working_days' answers: a year of sessions repeats its days

    def holiday_name(self, day: date) -> str | None:
        """The bank holiday on ``day``, if any."""
        return bank_holidays(self.region, day.year).get(day)

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday and not a bank holiday."""
        return day.weekday() < 5 and day not in bank_holidays(self.region, day.year)

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (``count`` >= 1)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        found = self._added.get((day, count))
        if found is None:
            found, left = day, count
            while left:
                found += timedelta(days=1)
                if self.is_working_day(found):
                    left -= 1
            self._added[day, count] = found
        return found

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days fall after ``start`` up to and including ``end``."""
        return sum(self.is_working_day(start + timedelta(days=n)) for n in range(1, (end - start).days + 1))

    def next_working_day(self, day: date) -> date:
        """``day`` if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day
