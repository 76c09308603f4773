"""Frequency rules for supervision, from the council supervision procedure (section 3).

All timescales are minimum frequencies ("All references to timescale in this section
are to minimum frequencies"), so a rule gives the *latest* day the next session may
fall on; the planner never books a session later than that when it can avoid it.

A rule is written ``<count><unit>``: ``2w`` (every 2 weeks), ``20wd`` (every 20
working days) or ``1m`` (every month).
"""

from __future__ import annotations

import calendar as _calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from roster.models import Employment, PracticeStage
from roster.supervision.models import AgreementKind
from roster.supervision.workdays import WorkingCalendar

ASYE_FORTNIGHTLY_MONTHS = 6
RECONVENE_WORKING_DAYS = 5
RECORD_WORKING_DAYS = 5
CASE_REVIEW_WEEKS = 12
THINK_FAMILY_PER_YEAR = 3

_UNITS = {"w": "weeks", "wd": "working_days", "m": "months"}
_RULE = re.compile(r"^\s*(\d{1,2})\s*(wd|w|m)\s*$", re.IGNORECASE)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clipped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class Frequency:
    """A minimum frequency: at most ``count`` ``unit`` between consecutive sessions."""

    count: int
    unit: str

    @classmethod
    def parse(cls, text: str) -> Frequency:
        """Read ``2w``, ``4w``, ``20wd`` or ``1m``; raises ValueError with an example."""
        match = _RULE.match(text or "")
        if not match or int(match.group(1)) < 1:
            raise ValueError(f"'{text}' is not a frequency (e.g. 2w = every 2 weeks, 20wd = every 20 working days, 1m = monthly)")
        return cls(int(match.group(1)), _UNITS[match.group(2).lower()])

    @property
    def code(self) -> str:
        suffix = {v: k for k, v in _UNITS.items()}[self.unit]
        return f"{self.count}{suffix}"

    def describe(self) -> str:
        words = {"weeks": "week", "working_days": "working day", "months": "month"}[self.unit]
        return f"every {words}" if self.count == 1 else f"every {self.count} {words}s"

    def latest_after(self, day: date, workdays: WorkingCalendar) -> date:
        """The latest day the next session may fall on when the last one was on ``day``."""
        if self.unit == "weeks":
            return day + timedelta(weeks=self.count)
        if self.unit == "months":
            return add_months(day, self.count)
        return workdays.add_working_days(day, self.count)

    @property
    def keeps_weekday(self) -> bool:
        """Whether sessions can stay on a preferred weekday (not for working-day counts)."""
        return self.unit != "working_days"


FORTNIGHTLY = Frequency(2, "weeks")
FOUR_WEEKLY = Frequency(4, "weeks")
TWENTY_WORKING_DAYS = Frequency(20, "working_days")
MONTHLY = Frequency(1, "months")


def stage_frequency(stage: str, employment: str, stage_date: date | None, on: date) -> Frequency:
    """The default minimum frequency for a supervisee on day ``on``.

    Council supervision procedure, 3. Frequency:
    - "ASYE: Every 2 weeks. For first 6 months, then 4 weekly following review."
      (``stage_date`` is the ASYE start.)
    - "Where the supervisee is in their probationary period they should receive more
      frequent supervision." -- every 2 weeks until probation ends (``stage_date``).
    - "For part time staff ... It is suggested that supervision should take place
      every 20 working days."
    - "All other social work staff: Every 4 weeks." / "All other C&F staff: Every 4 weeks."
    """
    if stage == PracticeStage.ASYE:
        if stage_date is None or on < add_months(stage_date, ASYE_FORTNIGHTLY_MONTHS):
            return FORTNIGHTLY
        return FOUR_WEEKLY
    if stage == PracticeStage.PROBATION and (stage_date is None or on < stage_date):
        return FORTNIGHTLY
    if employment == Employment.PART_TIME:
        return TWENTY_WORKING_DAYS
    return FOUR_WEEKLY


def agreement_frequency(
    kind: str, rule: str | None, stage: str, employment: str, stage_date: date | None, on: date
) -> Frequency:
    """The agreement's own rule if it has one; clinical supervision defaults to monthly.

    A rule written into the agreement wins ("Frequency, duration, venue of sessions"
    are part of the written agreement); otherwise the supervisee's stage decides.
    """
    if rule:
        return Frequency.parse(rule)
    if kind == AgreementKind.CLINICAL:
        return MONTHLY
    return stage_frequency(stage, employment, stage_date, on)


@dataclass(frozen=True)
class Window:
    """Where the next session may go: ideally ``target``, never before ``earliest``,
    and not after ``latest`` if the minimum frequency is to hold."""

    earliest: date
    target: date
    latest: date

    def candidate_days(self, overflow_days: int = 42):
        """Days in order of preference: nearest to the target first (earlier on a tie),
        only up to ``latest``; then, if nothing there is free, the days after it."""
        span = range((self.latest - self.earliest).days + 1)
        days = sorted((self.earliest + timedelta(days=n) for n in span), key=lambda d: (abs((d - self.target).days), d))
        yield from days
        for n in range(1, overflow_days + 1):
            yield self.latest + timedelta(days=n)


def next_window(
    previous: date | None, frequency: Frequency, weekday: int | None, earliest: date, workdays: WorkingCalendar
) -> Window:
    """Where the session after ``previous`` should go.

    The latest day is one interval after the previous session. The target is the
    latest day up to it on the preferred weekday, so a series moved earlier by a bank
    holiday comes back to its weekday without ever stretching the interval.
    The first session (no ``previous``) aims at the first preferred weekday from ``earliest``.
    """
    latest = frequency.latest_after(previous, workdays) if previous is not None else None
    if latest is None or latest < earliest:  # no previous session, or its gap lies in the past
        target = earliest
        if weekday is not None and frequency.keeps_weekday:
            target = earliest + timedelta(days=(weekday - earliest.weekday()) % 7)
        return Window(earliest=earliest, target=target, latest=max(target, frequency.latest_after(earliest, workdays)))
    low = max(previous + timedelta(days=1), earliest)
    target = latest
    if weekday is not None and frequency.keeps_weekday:
        on_weekday = latest - timedelta(days=(latest.weekday() - weekday) % 7)
        if on_weekday >= low:
            target = on_weekday
    return Window(earliest=low, target=target, latest=latest)
