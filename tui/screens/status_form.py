"""A small modal form to change a person's status until a given time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from roster.models import Status
from roster.timeutil import parse_until
from tui.formatting import STATUS_STYLES


@dataclass(frozen=True)
class StatusChange:
    """What the form returns: the new status, until when, and an optional note."""

    person_id: int
    status: Status
    until: datetime
    note: str | None


class StatusForm(ModalScreen[StatusChange | None]):
    """Pick a status and when it ends; Enter saves, Escape cancels."""

    CSS_PATH = "../styles/status_form.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, person_id: int, person_name: str, now: datetime, status: Status, until: str = "") -> None:
        super().__init__()
        self.person_id = person_id
        self.person_name = person_name
        self.now = now
        self.initial_status = status
        self.initial_until = until

    def compose(self) -> ComposeResult:
        with Vertical(id="status-form"):
            yield Label(f"Change status: [b]{self.person_name}[/b]", id="form-title")
            yield Label("Status")
            yield Select(
                [(STATUS_STYLES[s][0], s) for s in Status], value=self.initial_status, allow_blank=False, id="status"
            )
            yield Label("Until: 15:00 · today · tomorrow · 2027-03-01 · 2027-03-01 15:00")
            yield Input(value=self.initial_until, placeholder="today", id="until")
            yield Label("Note (optional, no client names)")
            yield Input(placeholder="e.g. home visit", id="note", max_length=200)
            yield Static("", id="form-error")
            with Horizontal(id="form-buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#until", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def save(self) -> None:
        """Validate; show what to fix, or return the change."""
        try:
            until = parse_until(self.query_one("#until", Input).value, self.now)
        except ValueError as error:
            self.query_one("#form-error", Static).update(f"[b]Fix:[/b] {error}")
            self.query_one("#until", Input).focus()
            return
        note = self.query_one("#note", Input).value.strip() or None
        status = self.query_one("#status", Select).value
        self.dismiss(StatusChange(self.person_id, Status(status), until, note))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
