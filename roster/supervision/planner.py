"""Planning a year of supervision, by rule.

Council supervision procedure, 3. Frequency: "All supervision sessions should be
booked on the electronic calendar annually in advance." Sessions fall on working
days only, never on either person's recorded leave, and "All references to
timescale in this section are to minimum frequencies": a clash moves to the nearest
free working day that keeps the interval (earlier rather than later).

Re-planning is idempotent and never drops a booked session: sessions already in the
plan are kept and counted; only the gaps between them are filled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.supervision.models import OCCURRING_STATUSES, SessionStatus, SupervisionSession, new_uid
from roster.supervision.rules import next_window
from roster.supervision.series import Series, load_series, series_filter
from roster.supervision.slots import load_availability
from roster.supervision.state import plan_state, touch_plan, working_calendar
from roster.timeutil import LONDON, ensure_aware, local_datetime

PLANNING_MARGIN_DAYS = 70


@dataclass
class PlanResult:
    """What a planning run did."""

    year: int
    series: int = 0
    booked: int = 0
    kept: int = 0
    late: list[str] = field(default_factory=list)


class YearPlanner:
    """Plans one calendar year: call :meth:`plan` for each of :attr:`series`, then :meth:`finish`."""

    def __init__(self, session: Session, year: int, *, now: datetime, team_id: int | None = None) -> None:
        self.session = session
        self.now = ensure_aware(now)
        self.year = year
        plan_state(session, lock=True)  # one planner at a time (PostgreSQL); SQLite has BEGIN IMMEDIATE
        self.workdays = working_calendar(session)
        self.first_day, self.last_day = date(year, 1, 1), date(year, 12, 31)
        everyone = load_series(session)
        self.series = everyone if team_id is None else load_series(session, team_id=team_id)
        self.availability = load_availability(
            session, self.workdays, everyone,
            self.first_day - timedelta(days=PLANNING_MARGIN_DAYS), self.last_day + timedelta(days=PLANNING_MARGIN_DAYS),
        )
        self._previous, self._existing = self._load_existing()
        self.result = PlanResult(year=year, series=len(self.series))
        self._new_rows: list[dict] = []

    def _load_existing(self) -> tuple[dict, dict]:
        """Per series: the last session before the year, and the year's sessions in order."""
        year_start = local_datetime(self.first_day, time(0))
        year_end = local_datetime(self.last_day + timedelta(days=1), time(0))
        occurring = SupervisionSession.status.in_([s.value for s in OCCURRING_STATUSES])
        previous: dict[tuple[str, int], date] = {}
        if self.series:
            latest = sa.func.max(SupervisionSession.starts_at)
            rows = self.session.exec(
                select(SupervisionSession.agreement_id, SupervisionSession.group_id, latest)
                .where(occurring, SupervisionSession.starts_at < year_start, series_filter(self.series))
                .group_by(SupervisionSession.agreement_id, SupervisionSession.group_id)
            )
            for agreement_id, group_id, starts_at in rows:
                key = ("agreement", agreement_id) if agreement_id is not None else ("group", group_id)
                previous[key] = ensure_aware(starts_at).astimezone(LONDON).date()
        existing: dict[tuple[str, int], list[date]] = {}
        if self.series:
            rows = self.session.exec(
                select(SupervisionSession.agreement_id, SupervisionSession.group_id, SupervisionSession.starts_at)
                .where(occurring, SupervisionSession.starts_at >= year_start, SupervisionSession.starts_at < year_end)
                .where(series_filter(self.series))
                .order_by(SupervisionSession.starts_at)
            )
            for agreement_id, group_id, starts_at in rows:
                key = ("agreement", agreement_id) if agreement_id is not None else ("group", group_id)
                existing.setdefault(key, []).append(starts_at.astimezone(LONDON).date())
        return previous, existing

    def plan(self, series: Series) -> int:
        """Fill the year's gaps for one series; returns how many sessions it booked."""
        source = series.source
        tomorrow = self.now.astimezone(LONDON).date() + timedelta(days=1)
        earliest = max(self.first_day, source.starts_on, tomorrow)
        last = min(self.last_day, source.ends_on or self.last_day)
        if not source.active or earliest > last:
            return 0
        previous = self._previous.get(series.key)
        kept = list(self._existing.get(series.key, []))
        booked = 0
        while True:
            frequency = series.frequency_at(previous or earliest)
            window = next_window(previous, frequency, series.weekday, earliest, self.workdays)
            if kept and kept[0] <= window.latest:
                previous = kept.pop(0)
                self.result.kept += 1
                continue
            if window.target > last:
                break
            slot = self.availability.slot_in(series, window, not_before=self.now)
            if kept and (slot is None or kept[0] <= slot.local_day):
                previous = kept.pop(0)  # a late session already booked beats booking another
                self.result.kept += 1
                continue
            if slot is None or slot.local_day > last:
                break
            if slot.late:
                self.result.late.append(f"{series.title} on {slot.local_day}: no free day within {frequency.describe()}")
            self._book(series, slot.starts_at, slot.ends_at)
            previous = slot.local_day
            earliest = max(earliest, previous)
            booked += 1
        self.result.kept += len(kept)
        self.result.booked += booked
        return booked

    def _book(self, series: Series, starts_at: datetime, ends_at: datetime) -> None:
        self._new_rows.append({
            "uid": new_uid(),
            "agreement_id": series.agreement.id if series.agreement else None,
            "group_id": series.group.id if series.group else None,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "venue": series.source.venue,
            "status": SessionStatus.BOOKED.value,
            "sequence": 0,
            "created_at": self.now,
            "updated_at": self.now,
        })
        self.availability.book(series.attendee_ids, starts_at, ends_at)

    def finish(self) -> PlanResult:
        """Write what was booked in one bulk insert and commit (bumping the plan version)."""
        if self._new_rows:
            self.session.execute(sa.insert(SupervisionSession), self._new_rows)
            touch_plan(self.session, self.now)
            self._new_rows = []
        self.session.commit()
        return self.result


def plan_year(
    session: Session,
    year: int,
    *,
    now: datetime,
    team_id: int | None = None,
    each: Callable[[list[Series]], object] = iter,
) -> PlanResult:
    """Plan ``year`` for every series (or one team's) and commit; ``each`` may wrap the
    series in a progress bar."""
    planner = YearPlanner(session, year, now=now, team_id=team_id)
    for series in each(planner.series):
        planner.plan(series)
    return planner.finish()
