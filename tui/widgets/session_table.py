"""A table of supervision sessions; reports which session is selected."""

from __future__ import annotations

from rich.text import Text

from roster.supervision.views import SessionView
from tui.widgets.id_table import IdTable

COLUMNS = (("when", "When"), ("title", "Session"), ("venue", "Venue"), ("status", "Status"))
STATUS_STYLES = {"booked": "", "held": "dim", "postponed": "bold white on dark_red", "cancelled": "dim strike"}


def status_text(view: SessionView) -> Text:
    """The status in words (colour is never the only signal)."""
    if view.needs_rebooking:
        return Text(" postponed: rebook ", style=STATUS_STYLES["postponed"])
    word = "rebooked" if view.status == "postponed" else view.status
    return Text(word, style=STATUS_STYLES.get(view.status, ""))


class SessionTable(IdTable):
    """A row per session, keyed by session id."""

    COLUMNS = COLUMNS

    def show(self, sessions: list[SessionView]) -> None:
        """Display ``sessions`` in order, keeping the selected one selected if it is still there."""
        selected = self.selected_id
        self.clear()
        for view in sessions:
            when = f"{view.local_start:%a %d %b %H:%M}"
            self.add_row(when, view.title, view.venue or "—", status_text(view), key=str(view.id))
        ids = [v.id for v in sessions]
        if selected in ids:
            self.move_cursor(row=ids.index(selected))
