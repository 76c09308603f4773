"""The plan's version and holiday region: one row, bumped on every change to the plan.

Calendar feeds are cached by plan version, so anything that changes sessions,
agreements or groups calls :func:`touch_plan` in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from roster.supervision.models import SupervisionPlanState
from roster.supervision.workdays import HolidayRegion, WorkingCalendar
from roster.timeutil import UTC, ensure_aware, utcnow

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def plan_state(session: Session, *, lock: bool = False) -> SupervisionPlanState:
    """The plan's state row (created if missing); ``lock`` serialises writers on PostgreSQL."""
    query = select(SupervisionPlanState).where(SupervisionPlanState.id == 1)
    if lock:
        query = query.with_for_update()
    state = session.exec(query).first()
    if state is None:
        state = SupervisionPlanState(id=1)
        session.add(state)
        session.flush()
    return state


def touch_plan(session: Session, now: datetime | None = None) -> SupervisionPlanState:
    """Record that the plan changed (new version; feeds re-render). Caller commits."""
    state = plan_state(session, lock=True)
    state.version += 1
    state.changed_at = ensure_aware(now or utcnow())
    session.add(state)
    return state


def plan_version(session: Session) -> tuple[int, datetime]:
    """The plan's current version and when it last changed (one small query)."""
    state = session.exec(select(SupervisionPlanState).where(SupervisionPlanState.id == 1)).first()
    if state is None:
        return 0, EPOCH
    return state.version, state.changed_at


def working_calendar(session: Session) -> WorkingCalendar:
    """The working-day calendar for the service's stored holiday region."""
    state = session.exec(select(SupervisionPlanState).where(SupervisionPlanState.id == 1)).first()
    return WorkingCalendar(state.holiday_region if state else HolidayRegion.ENGLAND_AND_WALES)


def set_region(session: Session, region: HolidayRegion, now: datetime | None = None) -> None:
    """Remember whose bank holidays the service keeps (caller commits)."""
    state = touch_plan(session, now)
    state.holiday_region = HolidayRegion(region).value
