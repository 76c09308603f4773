"""Small modal forms for supervision changes: a reason; a rebooking time."""

from __future__ import annotations

from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from roster.timeutil import LONDON, parse_when


class ReasonForm(ModalScreen[str | None]):
    """Ask why (postponing or cancelling); Enter confirms, Escape goes back."""

    CSS_PATH = "../styles/supervision_forms.tcss"
    BINDINGS = [Binding("escape", "cancel", "Back")]

    def __init__(self, title: str, session_text: str, note: str = "") -> None:
        super().__init__()
        self.form_title = title
        self.session_text = session_text
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="supervision-form"):
            yield Label(f"[b]{self.form_title}[/b]", classes="form-title")
            yield Label(self.session_text)
            if self.note:
                yield Static(self.note, classes="form-note")
            yield Label("Reason (stays in Dive Boat; never in calendars; no client names)")
            yield Input(placeholder="e.g. supervisor called to court", id="reason", max_length=300)
            yield Static("", classes="form-error")
            with Horizontal(classes="form-buttons"):
                yield Button("Confirm", variant="primary", id="confirm")
                yield Button("Back", id="back")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#confirm")
    def confirm(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.query_one(".form-error", Static).update("[b]Fix:[/b] give a reason")
            return
        self.dismiss(reason)

    @on(Button.Pressed, "#back")
    def action_cancel(self) -> None:
        self.dismiss(None)


class RebookForm(ModalScreen[datetime | None]):
    """Show the proposed slot (prefilled); Enter books it or the time typed instead."""

    CSS_PATH = "../styles/supervision_forms.tcss"
    BINDINGS = [Binding("escape", "cancel", "Back")]

    def __init__(self, session_text: str, proposal_text: str, proposed: datetime | None) -> None:
        super().__init__()
        self.session_text = session_text
        self.proposal_text = proposal_text
        self.proposed = proposed

    def compose(self) -> ComposeResult:
        value = f"{self.proposed.astimezone(LONDON):%Y-%m-%d %H:%M}" if self.proposed else ""
        with Vertical(classes="supervision-form"):
            yield Label("[b]Rebook a postponed session[/b]", classes="form-title")
            yield Label(self.session_text)
            yield Static(self.proposal_text, classes="form-note")
            yield Label("When (London time): keep the proposed slot or type another")
            yield Input(value=value, placeholder="2027-03-02 10:00", id="when")
            yield Static("", classes="form-error")
            with Horizontal(classes="form-buttons"):
                yield Button("Book", variant="primary", id="confirm")
                yield Button("Back", id="back")

    def on_mount(self) -> None:
        self.query_one("#when", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#confirm")
    def confirm(self) -> None:
        text = self.query_one("#when", Input).value.strip().replace(" ", "T", 1)
        try:
            self.dismiss(parse_when(text))
        except ValueError as error:
            self.query_one(".form-error", Static).update(f"[b]Fix:[/b] {error}")

    @on(Button.Pressed, "#back")
    def action_cancel(self) -> None:
        self.dismiss(None)
