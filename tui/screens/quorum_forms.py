"""Modal forms of the quorum screens: start a request, type a reply on a worker's behalf."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from roster.quorum import QuorumError, create_request, policy_for
from tui.screens.db_errors import DATABASE_ERRORS, error_line
from tui.screens.quorum_service import deliver


@dataclass(frozen=True)
class ReplyTyped:
    """A reply typed on a worker's behalf: their phone and what they said."""

    phone: str
    text: str


class QuorumRequestForm(ModalScreen[int | None]):
    """Need, MetaTeam, case, skills, reason and urgency; sends the first wave, returns the request id."""

    CSS_PATH = "../styles/quorum.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    class Created(Message):
        def __init__(self, request_id: int) -> None:
            super().__init__()
            self.request_id = request_id

    class Refused(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, person_id: int, person_name: str) -> None:
        super().__init__()
        self.person_id = person_id
        self.person_name = person_name

    def compose(self) -> ComposeResult:
        with Vertical(id="quorum-form", classes="quorum-modal"):
            yield Label(f"Reflective quorum for [b]{self.person_name}[/b]", id="quorum-form-title")
            with Horizontal(classes="form-pair"):
                with Vertical():
                    yield Label("People needed")
                    yield Input(value="2", type="integer", id="need", max_length=2)
                with Vertical():
                    yield Label("of them MetaTeam")
                    yield Input(value="0", type="integer", id="metateam", max_length=2)
            yield Label("Case reference (optional, e.g. C-1042)")
            yield Input(placeholder="C-1042", id="case", max_length=20)
            yield Label("Wanted skills (optional, comma-separated)")
            yield Input(placeholder="self-harm, housing", id="skills", max_length=200)
            yield Label("Reason (kept in Dive Boat only, never sent)")
            yield Input(placeholder="a few words", id="reason", max_length=500)
            yield Checkbox("Urgent: text and call the first wave at once", id="urgent")
            yield Static("", id="form-error")
            with Horizontal(id="form-buttons"):
                yield Button("Send invitations", variant="primary", id="send")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#need", Input).focus()

    def _number(self, field: str, label: str) -> int | None:
        text = self.query_one(f"#{field}", Input).value.strip()
        try:
            return int(text or "0")
        except ValueError:
            self._show_error(f"{label} must be a whole number")
            return None

    @on(Input.Submitted)
    @on(Button.Pressed, "#send")
    def send(self) -> None:
        need = self._number("need", "People needed")
        metateam = self._number("metateam", "MetaTeam")
        if need is None or metateam is None:
            return
        skills = [s.strip() for s in self.query_one("#skills", Input).value.split(",") if s.strip()]
        self.query_one("#send", Button).disabled = True
        self.query_one("#form-error", Static).update("Sending invitations…")
        self._create(need, metateam, self.query_one("#case", Input).value.strip() or None, skills,
                     self.query_one("#reason", Input).value, self.query_one("#urgent", Checkbox).value)

    @work(thread=True, exclusive=True, group="quorum-create")
    def _create(self, need: int, metateam: int, case: str | None, skills: list[str], reason: str,
                urgent: bool) -> None:
        """Create the request and send its first wave, in a worker."""
        app = self.app
        try:
            with app.new_session() as session:
                request = create_request(session, self.person_id, need=need, need_metateam=metateam,
                                         case_reference=case, skills=skills, reason=reason, now=app.clock(),
                                         policy=policy_for(app.settings), urgent=urgent)
        except QuorumError as error:
            self.post_message(self.Refused(str(error)))
            return
        except DATABASE_ERRORS as error:
            self.post_message(self.Refused(f"the database could not be reached ({error_line(error)}); try again"))
            return
        try:
            deliver(app)
        except DATABASE_ERRORS:
            pass  # the request is saved: the escalation clock sends its texts on its next turn
        self.post_message(self.Created(request.id))

    @on(Created)
    def created(self, message: Created) -> None:
        self.dismiss(message.request_id)

    @on(Refused)
    def refused(self, message: Refused) -> None:
        self.query_one("#send", Button).disabled = False
        self._show_error(message.text)

    def _show_error(self, text: str) -> None:
        self.query_one("#form-error", Static).update(f"[b]Fix:[/b] {text}")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class QuorumReplyForm(ModalScreen[ReplyTyped | None]):
    """Type what a worker answered (by phone, in person, or in outbox mode)."""

    CSS_PATH = "../styles/quorum.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, phone: str | None = None) -> None:
        super().__init__()
        self.phone = phone or ""

    def compose(self) -> ComposeResult:
        with Vertical(id="reply-form", classes="quorum-modal"):
            yield Label("Reply on a worker's behalf", id="reply-form-title")
            yield Label("Their phone (or name)")
            yield Input(value=self.phone, id="reply-phone", max_length=40)
            yield Label("What they said: 1 join · 2 can't · or their words")
            yield Input(placeholder="1", id="reply-text", max_length=320)
            with Horizontal(id="form-buttons"):
                yield Button("Record reply", variant="primary", id="record")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#reply-text" if self.phone else "#reply-phone", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#record")
    def record(self) -> None:
        phone = self.query_one("#reply-phone", Input).value.strip()
        text = self.query_one("#reply-text", Input).value.strip()
        if not phone:
            self.query_one("#reply-phone", Input).focus()
            return
        if not text:
            self.query_one("#reply-text", Input).focus()
            return
        self.dismiss(ReplyTyped(phone, text))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
