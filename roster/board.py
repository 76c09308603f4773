"""The roster board's data: everyone active, their status now, shift and next change."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from roster.availability import statuses_at
from roster.db import ChangeWatch, read_session
from roster.models import Status, Team
from roster.people import teams_of


#: A board is read again at least this often, even when nothing seems to have changed.
BOARD_MAX_AGE = timedelta(minutes=1)


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
    def valid_until(self) -> datetime:
        """Until when the board stays true unless the database changes: the first status change
        due on it, and at most :data:`BOARD_MAX_AGE` after it was read."""
        return min([self.at + BOARD_MAX_AGE, *(e.next_change for e in self.entries if e.next_change)])

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


class BoardReader:
    """Reads the board again only when it may have changed: the database was written to (see
    :class:`roster.db.ChangeWatch`) or a status on it is due to change (:attr:`Board.valid_until`).

    A dashboard refreshing every second re-read thousands of people each time; with 2,000 that
    kept a core half busy on a slow machine, and the reads held up the screen's own drawing.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._watch = ChangeWatch(engine)
        self._marker: object | None = None
        self.board: Board | None = None
        self.reads = 0  # how many times the board was read from the database

    def read(self, moment: datetime, *, force: bool = False) -> Board | None:
        """The board at ``moment``, or None when the last one read is still true then."""
        marker = self._watch.marker()  # before the read: a commit in between shows up next time
        board = self.board
        if (not force and board is not None and marker is not None and marker == self._marker
                and board.at <= moment < board.valid_until):
            return None
        with read_session(self._engine) as session:
            self.board = load_board(session, moment)
        self._marker = marker
        self.reads += 1
        return self.board

    def close(self) -> None:
        """Give back the connection the reader watches the database with."""
        self._watch.close()
