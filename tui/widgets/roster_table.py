"""The roster table: shows board entries it is given; reports which person is selected."""

from __future__ import annotations

from datetime import datetime

from roster.board import BoardEntry
from tui.formatting import ROLE_LABELS, shift_text, status_text, when_text
from tui.widgets.id_table import IdTable

COLUMNS = (("name", "Name"), ("role", "Role"), ("teams", "Teams"), ("status", "Status"),
           ("shift", "Shift"), ("until", "Next change"), ("note", "Note"))


FIRST_ROWS = 80  # fills a tall terminal: painted at once
LATER_ROWS = 300  # then added this many per frame, so a long roster never freezes the screen


class RosterTable(IdTable):
    """A row per person, keyed by person id; updates in place so the cursor stays put.

    A new set of rows is painted screen first: the first :data:`FIRST_ROWS` at once, the rest
    in chunks after each refresh (with 2,000 people the table would otherwise hold the
    screen for half a second measuring every cell).
    """

    COLUMNS = COLUMNS

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: dict[int, tuple] = {}
        self._pending: list[tuple[int, tuple]] = []  # rows shown but not yet added, in order
        self._cursor_row: int | None = None  # where the cursor goes once that row is added
        self._chunk_scheduled = False

    @property
    def complete(self) -> bool:
        """Whether every row of the last :meth:`show` is in the table."""
        return not self._pending

    def show(self, entries: list[BoardEntry], now: datetime) -> None:
        """Display ``entries`` (already filtered and sorted)."""
        cells = {e.person_id: self._cells(e, now) for e in entries}
        if list(cells) != list(self._shown):
            selected = self.selected_id
            self.clear()
            self._cursor_row = list(cells).index(selected) if selected in cells else None
            self._pending = list(cells.items())
            self._add_pending(FIRST_ROWS)
        else:
            added = self.row_count
            for person_id, row in list(cells.items())[:added]:
                if row != self._shown[person_id]:
                    for (column, _), value in zip(COLUMNS, row):
                        self.update_cell(str(person_id), column, value)
            self._pending = [(person_id, cells[person_id]) for person_id, _ in self._pending]
        self._shown = cells

    def _add_pending(self, count: int) -> None:
        chunk, self._pending = self._pending[:count], self._pending[count:]
        for person_id, row in chunk:
            self.add_row(*row, key=str(person_id))
        if self._cursor_row is not None and self._cursor_row < self.row_count:
            self.move_cursor(row=self._cursor_row)
            self._cursor_row = None
        if self._pending and not self._chunk_scheduled:
            self._chunk_scheduled = True
            self.call_after_refresh(self._add_later_chunk)

    def _add_later_chunk(self) -> None:
        self._chunk_scheduled = False
        self._add_pending(LATER_ROWS)

    @staticmethod
    def _cells(entry: BoardEntry, now: datetime) -> tuple:
        return (
            entry.name,
            ROLE_LABELS.get(entry.role, entry.role),
            ", ".join(entry.teams) or "—",
            status_text(entry.status),
            shift_text(entry.shift),
            when_text(entry.next_change, now),
            entry.note or "",
        )
