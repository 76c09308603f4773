"""Supervision sessions as calendars: a person's or a team's feed, exports, cancellations.

Feeds cover three months back to twelve months ahead. Descriptions name cases by
reference code only, and never include the reasons typed for changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time

from sqlmodel import Session, select

from roster.ical import Attendee, CalendarEvent, EventChunks, build_calendar, build_cancellation
from roster.models import Person, Team, TeamMembership
from roster.supervision.groups import agenda_for_upcoming, waiting_items
from roster.supervision.models import SessionStatus, SupervisionSession
from roster.supervision.reviews import reviews_by_session
from roster.supervision.rules import add_months
from roster.supervision.series import Series, key_of, load_series, series_filter
from roster.timeutil import LONDON, local_datetime

MONTHS_BACK = 3
MONTHS_AHEAD = 12


@dataclass(frozen=True)
class FeedWindow:
    """Local days a calendar covers (inclusive start, exclusive end)."""

    start: date
    end: date

    @classmethod
    def around(cls, today: date) -> FeedWindow:
        """Three months back to twelve months ahead of ``today``."""
        return cls(add_months(today, -MONTHS_BACK), add_months(today, MONTHS_AHEAD))

    @classmethod
    def year(cls, year: int) -> FeedWindow:
        return cls(date(year, 1, 1), date(year + 1, 1, 1))


def person_address(person: Person) -> str:
    """A calendar address: the person's email, or a URN naming them inside Dive Boat."""
    return f"mailto:{person.email}" if person.email else f"urn:x-diveboat:person:{person.id}"


def _attendee(person: Person) -> Attendee:
    return Attendee(name=person.name, address=person_address(person))


def _sessions(session: Session, series: list[Series], window: FeedWindow) -> list[SupervisionSession]:
    if not series:
        return []
    query = (
        select(SupervisionSession)
        .where(
            series_filter(series),
            SupervisionSession.starts_at >= local_datetime(window.start, time(0)),
            SupervisionSession.starts_at < local_datetime(window.end, time(0)),
        )
        .order_by(SupervisionSession.starts_at, SupervisionSession.id)
    )
    return list(session.exec(query))


def session_events(session: Session, series: list[Series], rows: list[SupervisionSession], today: date) -> list[CalendarEvent]:
    """Calendar events for ``rows`` (which belong to ``series``)."""
    by_key = {s.key: s for s in series}
    horizon = max((r.starts_at.astimezone(LONDON).date() for r in rows), default=today)
    supervisees = {s.supervisee.id for s in series if s.supervisee is not None}
    reviews = reviews_by_session(session, today, horizon, supervisees)
    agendas = _group_agendas(session, series, rows, today)
    originals = _originals(session, rows)
    events = []
    for row in rows:
        item = by_key[key_of(row)]
        notes = [_frequency_note(item, row)]
        if row.id in agendas and agendas[row.id]:
            notes.append("Cases to bring: " + ", ".join(agendas[row.id]))
        if reviews.get(row.id):
            notes.append("Cases due for review: " + ", ".join(reviews[row.id]))
        if row.rebook_of_id and row.rebook_of_id in originals:
            notes.append(f"Reconvenes the session postponed from {originals[row.rebook_of_id]:%a %d %b %Y}.")
        summary = item.title
        if row.status == SessionStatus.POSTPONED:
            summary, notes = f"Postponed: {summary}", [*notes, "Postponed; Dive Boat will show the new time."]
        elif row.status == SessionStatus.CANCELLED:
            summary = f"Cancelled: {summary}"
        events.append(
            CalendarEvent(
                uid=row.uid, sequence=row.sequence, stamp=row.updated_at, starts_at=row.starts_at,
                ends_at=row.ends_at, summary=summary, location=row.venue, organizer=_attendee(item.lead),
                attendees=tuple(_attendee(p) for p in item.people), description="\n".join(notes),
                cancelled=row.status in (SessionStatus.POSTPONED, SessionStatus.CANCELLED),
            )
        )
    return events


def _frequency_note(item: Series, row: SupervisionSession) -> str:
    frequency = item.frequency_at(row.starts_at.astimezone(LONDON).date())
    kind = "Group series" if item.is_group else "Supervision agreement"
    return f"{kind}, {frequency.describe()}, {item.duration_minutes} minutes."


def _group_agendas(session: Session, series: list[Series], rows: list[SupervisionSession], today: date) -> dict[int, list[str]]:
    """Upcoming group sessions get the queue's cases in order, a few each."""
    groups = {s.group.id: s.group for s in series if s.group is not None}
    queues = waiting_items(session, list(groups))
    upcoming: dict[int, list[SupervisionSession]] = {}
    for row in rows:
        if row.group_id in groups and row.status == SessionStatus.BOOKED and row.starts_at.astimezone(LONDON).date() >= today:
            upcoming.setdefault(row.group_id, []).append(row)
    agendas = {}
    for group_id, sessions in upcoming.items():
        shares = agenda_for_upcoming(queues.get(group_id, []), groups[group_id].cases_per_session, len(sessions))
        agendas.update({row.id: share for row, share in zip(sessions, shares)})
    return agendas


def _originals(session: Session, rows: list[SupervisionSession]) -> dict[int, date]:
    wanted = [r.rebook_of_id for r in rows if r.rebook_of_id]
    if not wanted:
        return {}
    found = session.exec(select(SupervisionSession).where(SupervisionSession.id.in_(wanted)))
    return {r.id: r.starts_at.astimezone(LONDON).date() for r in found}


def person_calendar(
    session: Session, person: Person, today: date, window: FeedWindow | None = None, chunks: EventChunks | None = None
) -> bytes:
    """A person's supervision calendar (every series they take part in)."""
    window = window or FeedWindow.around(today)
    series = load_series(session, include_inactive=True, involving=[person.id])
    rows = _sessions(session, series, window)
    return build_calendar(session_events(session, series, rows, today), name=f"Supervision: {person.name}", chunks=chunks)


def team_calendar(
    session: Session, team: Team, today: date, window: FeedWindow | None = None, chunks: EventChunks | None = None
) -> bytes:
    """A team's supervision calendar: every series any team member takes part in."""
    window = window or FeedWindow.around(today)
    members = list(session.exec(select(TeamMembership.person_id).where(TeamMembership.team_id == team.id)))
    series = load_series(session, include_inactive=True, involving=members)
    rows = _sessions(session, series, window)
    return build_calendar(session_events(session, series, rows, today), name=f"Supervision: {team.name}", chunks=chunks)


def cancellation_calendar(session: Session, rows: Iterable[SupervisionSession], today: date) -> bytes:
    """A one-off ``METHOD:CANCEL`` file for cancelled or postponed sessions."""
    rows = list(rows)
    keys = {key_of(r) for r in rows}
    series = [s for s in load_series(session, include_inactive=True) if s.key in keys]
    return build_cancellation(session_events(session, series, rows, today), name="Supervision: cancellation")


def subject_calendar(
    session: Session, person_id: int | None, team_id: int | None, today: date, chunks: EventChunks | None = None
) -> bytes | None:
    """The feed for a person (if active) or a team; None if they no longer exist."""
    if person_id is not None:
        person = session.get(Person, person_id)
        if person is None or not person.active:
            return None
        return person_calendar(session, person, today, chunks=chunks)
    team = session.get(Team, team_id)
    return team_calendar(session, team, today, chunks=chunks) if team is not None else None
