"""The roster table: shows board entries it is given; reports which person is selected."""

from __future__ import annotations

from datetime import datetime

from textual.message import Message
from textual.widgets import DataTable

from roster.board import BoardEntry
from tui.formatting import ROLE_LABELS, shift_text, status_text, when_text

COLUMNS = (("name", "Name"), ("role", "Role"), ("teams", "Teams"), ("status", "Status"),
           ("shift", "Shift"), ("until", "Next change"), ("note", "Note"))


class RosterTable(DataTable):
    """A row per person, keyed by person id; updates in place so the cursor stays put."""

    class PersonHighlighted(Message):
        def __init__(self, person_id: int | None) -> None:
            super().__init__()
            self.person_id = person_id

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._shown: dict[int, tuple] = {}

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show(self, entries: list[BoardEntry], now: datetime) -> None:
        """Display ``entries`` (already filtered and sorted)."""
        cells = {e.person_id: self._cells(e, now) for e in entries}
        if list(cells) != list(self._shown):
            selected = self.selected_person_id
            self.clear()
            for person_id, row in cells.items():
                self.add_row(*row, key=str(person_id))
            if selected in cells:
                self.move_cursor(row=list(cells).index(selected))
        else:
            for person_id, row in cells.items():
                if row != self._shown[person_id]:
                    for (column, _), value in zip(COLUMNS, row):
                        self.update_cell(str(person_id), column, value)
        self._shown = cells

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

    @property
    def selected_person_id(self) -> int | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return int(row_key.value)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.PersonHighlighted(int(event.row_key.value) if event.row_key else None))
