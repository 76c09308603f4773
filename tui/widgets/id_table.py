"""A DataTable with one row per database id (the row key), a column list and a selection."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import DataTable


class IdTable(DataTable):
    """Rows keyed by an integer id; says which id is highlighted with :class:`IdHighlighted`.

    Subclasses set ``COLUMNS`` (``(key, label)`` pairs) and add rows with ``key=str(id)``.
    """

    COLUMNS: tuple[tuple[str, str], ...] = ()

    class IdHighlighted(Message):
        """The cursor moved to the row of ``row_id`` (None: no rows)."""

        def __init__(self, row_id: int | None) -> None:
            super().__init__()
            self.row_id = row_id

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)

    def on_mount(self) -> None:
        for key, label in self.COLUMNS:
            self.add_column(label, key=key)

    @property
    def selected_id(self) -> int | None:
        """The id of the row under the cursor, or None when the table is empty."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return int(row_key.value)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.IdHighlighted(int(event.row_key.value) if event.row_key else None))
