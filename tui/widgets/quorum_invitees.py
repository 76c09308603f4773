"""The invitees of a quorum request: one row each, states updated in place."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from roster.quorum.views import InviteeView
from tui.formatting import ROLE_LABELS, when_text

STATE_STYLES = {
    "queued": ("queued", "dim"),
    "sent": ("sent", ""),
    "delivered": ("delivered", "bold"),
    "joined": ("joined ✓", "bold black on green"),
    "declined": ("declined", "black on yellow"),
    "failed": ("failed", "bold white on red"),
    "no_answer": ("no answer", "dim"),
    "stood_down": ("stood down", "dim"),
}
COLUMNS = (("name", "Name"), ("role", "Role"), ("wave", "Wave"), ("state", "State"), ("when", "Answered"),
           ("note", "Note"))


def state_text(state: str) -> Text:
    """An invitation state as a word, coloured (the word alone carries the meaning)."""
    word, style = STATE_STYLES.get(state, (state.replace("_", " "), ""))
    return Text(f" {word:<10} ", style=style)


class QuorumInvitees(DataTable):
    """Shows the invitees it is given; keyed by phone so the cursor stays put across refreshes."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._shown: dict[str, tuple] = {}

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show(self, invitees: list[InviteeView], now: datetime) -> None:
        cells = {i.phone: self._cells(i, now) for i in invitees}
        if list(cells) != list(self._shown):
            self.clear()
            for key, row in cells.items():
                self.add_row(*row, key=key)
        else:
            for key, row in cells.items():
                if row != self._shown[key]:
                    for (column, _), value in zip(COLUMNS, row):
                        self.update_cell(key, column, value)
        self._shown = cells

    @staticmethod
    def _cells(invitee: InviteeView, now: datetime) -> tuple:
        note = invitee.error_text or ("called by voice" if invitee.voice_called_at else "")
        return (
            invitee.name,
            ROLE_LABELS.get(invitee.role, invitee.role),
            str(invitee.wave),
            state_text(invitee.state),
            when_text(invitee.answered_at, now) if invitee.answered_at else "—",
            note,
        )

    @property
    def selected_phone(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value
