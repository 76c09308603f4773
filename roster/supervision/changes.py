"""Changes to booked sessions: postpone, cancel, rebook, mark held, record written.

Council supervision procedure, 3. Frequency: "Every effort must be made to avoid
cancellation such that it is only postponed in exceptional and unforeseen
circumstance and with the agreement of both parties. Any postponed session must be
reconvened within 5 working days." Dive Boat proposes the first slot free for both
people (no leave, no sickness, no other session) from the next day on, and flags a
breach when that slot, or the one chosen, is later than the fifth working day after
the original date.

Every change raises the session's ``SEQUENCE`` (so calendars update) and the plan
version (so feeds re-render). Reasons stay in Dive Boat: calendars never show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from roster.supervision.agreements import SupervisionError
from roster.supervision.groups import take_agenda
from roster.supervision.models import CaseReview, SessionStatus, SupervisionSession
from roster.supervision.reviews import reviews_by_session
from roster.supervision.rules import RECONVENE_WORKING_DAYS
from roster.supervision.series import Series, load_series, series_of_session
from roster.supervision.slots import REBOOKING_BLOCKS, Slot, load_availability
from roster.supervision.state import touch_plan, working_calendar
from roster.supervision.workdays import WorkingCalendar
from roster.models import Case
from roster.timeutil import LONDON, ensure_aware

PROPOSAL_SEARCH_DAYS = 45
PROPOSAL_NOTICE = timedelta(hours=2)  # nobody can meet in the next few minutes
REASON_MAX = 300


@dataclass(frozen=True)
class Proposal:
    """The first slot free for both people, and the day the session must be reconvened by."""

    session_id: int
    reconvene_by: date
    slot: Slot | None

    @property
    def breach(self) -> bool:
        """True if no free slot keeps the five-working-day rule."""
        return self.slot is None or self.slot.local_day > self.reconvene_by


@dataclass(frozen=True)
class Rebooking:
    """A postponed session reconvened: the new session and whether it is in breach."""

    original: SupervisionSession
    session: SupervisionSession
    reconvene_by: date

    @property
    def breach(self) -> bool:
        return self.session.starts_at.astimezone(LONDON).date() > self.reconvene_by


def local_day(row: SupervisionSession) -> date:
    return row.starts_at.astimezone(LONDON).date()


def reconvene_deadline(row: SupervisionSession, workdays: WorkingCalendar) -> date:
    """The fifth working day after the postponed session's original date."""
    return workdays.add_working_days(local_day(row), RECONVENE_WORKING_DAYS)


def get_session(session: Session, session_id: int) -> SupervisionSession:
    row = session.get(SupervisionSession, session_id)
    if row is None:
        raise SupervisionError(f"no supervision session {session_id} (see 'diveboat plan show NAME')")
    return row


def _reason(text: str | None) -> str:
    reason = " ".join((text or "").split())
    if not reason:
        raise SupervisionError("give a reason (e.g. --reason 'supervisor called to a child protection visit')")
    return reason[:REASON_MAX]


def _changed(session: Session, row: SupervisionSession, now: datetime) -> None:
    row.sequence += 1
    row.updated_at = now
    session.add(row)
    touch_plan(session, now)


def postpone(session: Session, session_id: int, reason: str, *, now: datetime) -> Proposal:
    """Postpone a booked session; returns the proposed slot to reconvene it. Commits."""
    now = ensure_aware(now)
    row = get_session(session, session_id)
    if row.status != SessionStatus.BOOKED:
        raise SupervisionError(f"session {row.id} is {row.status}; only a booked session can be postponed")
    row.status = SessionStatus.POSTPONED.value
    row.reason = _reason(reason)
    _changed(session, row, now)
    proposal = propose_rebooking(session, session_id, now=now)
    session.commit()
    return proposal


def cancel(session: Session, session_id: int, reason: str, *, now: datetime) -> SupervisionSession:
    """Cancel a booked or postponed session (it stays in feeds as STATUS:CANCELLED). Commits."""
    now = ensure_aware(now)
    row = get_session(session, session_id)
    if row.status not in (SessionStatus.BOOKED, SessionStatus.POSTPONED):
        raise SupervisionError(f"session {row.id} is {row.status}; only a booked or postponed session can be cancelled")
    row.status = SessionStatus.CANCELLED.value
    row.reason = _reason(reason)
    _changed(session, row, now)
    session.commit()
    return row


def rebooking_of(session: Session, row: SupervisionSession) -> SupervisionSession | None:
    """The session that reconvenes ``row``, if any (cancelled rebookings do not count)."""
    return session.exec(
        select(SupervisionSession).where(
            SupervisionSession.rebook_of_id == row.id, SupervisionSession.status != SessionStatus.CANCELLED.value
        )
    ).first()


def propose_rebooking(session: Session, session_id: int, *, now: datetime) -> Proposal:
    """The first slot free for both people from the day after the original date (or
    two hours from now, if later), and the deadline. Works for a booked session too, to show
    what postponing it would propose.
    """
    now = ensure_aware(now)
    row = get_session(session, session_id)
    series = series_of_session(session, row)
    workdays = working_calendar(session)
    deadline = reconvene_deadline(row, workdays)
    first = max(local_day(row) + timedelta(days=1), now.astimezone(LONDON).date())
    last = max(deadline, first) + timedelta(days=PROPOSAL_SEARCH_DAYS)
    availability = load_availability(session, workdays, load_series(session), first, last, blocking=REBOOKING_BLOCKS)
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    slot = availability.first_free(series, days, not_before=now + PROPOSAL_NOTICE, latest=deadline, ignore=row.id)
    return Proposal(session_id=row.id, reconvene_by=deadline, slot=slot)


def rebook(session: Session, session_id: int, *, now: datetime, starts_at: datetime | None = None) -> Rebooking:
    """Reconvene a postponed session at ``starts_at`` (default: the proposed slot). Commits."""
    now = ensure_aware(now)
    row = get_session(session, session_id)
    if row.status != SessionStatus.POSTPONED:
        raise SupervisionError(f"session {row.id} is {row.status}; only a postponed session can be rebooked")
    if rebooking_of(session, row) is not None:
        raise SupervisionError(f"session {row.id} has already been rebooked")
    series = series_of_session(session, row)
    workdays = working_calendar(session)
    if starts_at is None:
        proposal = propose_rebooking(session, session_id, now=now)
        if proposal.slot is None:
            raise SupervisionError("no free slot for both people in the next weeks; give a time with --at")
        starts_at = proposal.slot.starts_at
    else:
        starts_at = ensure_aware(starts_at)
        _check_free(session, series, workdays, starts_at, now)
    ends_at = starts_at + timedelta(minutes=series.duration_minutes)
    new = SupervisionSession(
        agreement_id=row.agreement_id, group_id=row.group_id, starts_at=starts_at, ends_at=ends_at,
        venue=row.venue, rebook_of_id=row.id, created_at=now, updated_at=now,
    )
    session.add(new)
    touch_plan(session, now)
    session.commit()
    return Rebooking(original=row, session=new, reconvene_by=reconvene_deadline(row, workdays))


def _check_free(session: Session, series: Series, workdays: WorkingCalendar, starts_at: datetime, now: datetime) -> None:
    day = starts_at.astimezone(LONDON).date()
    if starts_at < now:
        raise SupervisionError("that time has already passed")
    if not workdays.is_working_day(day):
        name = workdays.holiday_name(day) or day.strftime("%A")
        raise SupervisionError(f"{day:%a %d %b %Y} is not a working day ({name})")
    ends_at = starts_at + timedelta(minutes=series.duration_minutes)
    availability = load_availability(session, workdays, load_series(session), day, day, blocking=REBOOKING_BLOCKS)
    if not availability.is_free(series, day, starts_at, ends_at):
        raise SupervisionError(
            f"{starts_at.astimezone(LONDON):%a %d %b %H:%M} is not free for everyone (leave, sickness, "
            "rota or another session); leave out --at to take the proposed slot"
        )


def mark_held(
    session: Session, session_id: int, *, now: datetime, reviewed: list[str] | None = None, recorded: bool = False
) -> SupervisionSession:
    """Mark a past session held. A one-to-one records its planned case reviews (or the
    ``reviewed`` references given); a group session takes its cases from the queue. Commits."""
    now = ensure_aware(now)
    row = get_session(session, session_id)
    if row.status != SessionStatus.BOOKED:
        raise SupervisionError(f"session {row.id} is {row.status}; only a booked session can be marked held")
    if row.starts_at > now:
        raise SupervisionError(f"session {row.id} has not started yet")
    series = series_of_session(session, row)
    day = local_day(row)
    if series.group is not None:
        take_agenda(session, row, series.group, now)
    else:
        if reviewed is None:
            reviewed = reviews_by_session(session, day, day, [series.supervisee.id]).get(row.id, [])
        _record_reviews(session, row, reviewed, day, now)
    row.status = SessionStatus.HELD.value
    if recorded:
        row.recorded_at = now
    row.updated_at = now
    session.add(row)
    touch_plan(session, now)
    session.commit()
    return row


def record_written(session: Session, session_id: int, *, now: datetime) -> SupervisionSession:
    """Note that a session's record was written (marking it held first if needed). Commits.

    "the supervisee should receive a copy of the record form within 5 working days."
    """
    now = ensure_aware(now)
    row = get_session(session, session_id)
    if row.status == SessionStatus.BOOKED:
        return mark_held(session, session_id, now=now, recorded=True)
    if row.status != SessionStatus.HELD:
        raise SupervisionError(f"session {row.id} is {row.status}; there is no record to write")
    row.recorded_at = now
    row.updated_at = now
    session.add(row)
    session.commit()
    return row


def _record_reviews(session: Session, row: SupervisionSession, references: list[str], day: date, now: datetime) -> None:
    for reference in references:
        case = session.exec(select(Case).where(Case.reference == reference.strip().upper())).first()
        if case is None:
            raise SupervisionError(f"no case with reference '{reference}'")
        session.add(CaseReview(case_id=case.id, reviewed_on=day, session_id=row.id, created_at=now))
