"""The roster board's data: everyone active, their status now, shift and next change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from functools import cached_property

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.availability import statuses_at
from roster.db import ReadWhenChanged
from roster.models import Status, Team
from roster.people import teams_of


@dataclass(frozen=True)
class BoardEntry:
    """One line of the roster board."""

    person_id: int
    name: str
    role: str
    teams: tuple[str, ...]
    status: Status
    note: str | None
    shift: tuple[time, time] | None
    next_change: datetime | None


@dataclass(frozen=True)
class Board:
    """The whole board at one moment."""

    at: datetime
    entries: tuple[BoardEntry, ...]
    teams: tuple[str, ...]

    @cached_property
    def next_change(self) -> datetime | None:
        """The first moment a status on the board is due to change by the clock alone (the rota,
        a status's end or start); None if none is within the rota's span."""
        return min((e.next_change for e in self.entries if e.next_change), default=None)

    @property
    def reachable_count(self) -> int:
        return sum(1 for e in self.entries if e.status in (Status.ON_DUTY, Status.IN_FIELD))


def load_board(session: Session, moment: datetime) -> Board:
    """Read the board for ``moment`` in a handful of queries."""
    teams = teams_of(session)
    entries = tuple(
        BoardEntry(
            person_id=s.person.id,
            name=s.person.name,
            role=s.person.role,
            teams=tuple(teams.get(s.person.id, ())),
            status=s.status,
            note=s.note,
            shift=s.shift,
            next_change=s.next_change,
        )
        for s in statuses_at(session, moment)
    )
    team_names = tuple(session.exec(select(Team.name).order_by(Team.name)))
    return Board(at=moment, entries=entries, teams=team_names)


def board_reader(engine: sa.Engine) -> ReadWhenChanged[Board]:
    """Reads the board again only when it may have changed: the database was written, or a
    status on it is due to change (see :class:`roster.db.ReadWhenChanged`)."""
    return ReadWhenChanged(engine, load_board, expires=lambda board: board.next_change)
