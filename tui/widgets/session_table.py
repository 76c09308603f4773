"""A table of supervision sessions; reports which session is selected."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from roster.supervision.views import SessionView

COLUMNS = (("when", "When"), ("title", "Session"), ("venue", "Venue"), ("status", "Status"))
STATUS_STYLES = {"booked": "", "held": "dim", "postponed": "bold white on dark_red", "cancelled": "dim strike"}


def status_text(view: SessionView) -> Text:
    """The status in words (colour is never the only signal)."""
    if view.needs_rebooking:
        return Text(" postponed: rebook ", style=STATUS_STYLES["postponed"])
    word = "rebooked" if view.status == "postponed" else view.status
    return Text(word, style=STATUS_STYLES.get(view.status, ""))


class SessionTable(DataTable):
    """A row per session, keyed by session id."""

    class SessionSelected(Message):
        def __init__(self, session_id: int | None) -> None:
            super().__init__()
            self.session_id = session_id

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show(self, sessions: list[SessionView]) -> None:
        """Display ``sessions`` in order, keeping the selected one selected if it is still there."""
        selected = self.selected_session_id
        self.clear()
        for view in sessions:
            when = f"{view.local_start:%a %d %b %H:%M}"
            self.add_row(when, view.title, view.venue or "—", status_text(view), key=str(view.id))
        ids = [v.id for v in sessions]
        if selected in ids:
            self.move_cursor(row=ids.index(selected))

    @property
    def selected_session_id(self) -> int | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return int(row_key.value)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.SessionSelected(int(event.row_key.value) if event.row_key else None))
