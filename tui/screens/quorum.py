"""The quorum screen: a request's invitees changing live, its steps, outbox and Thinking Together card.

The screen reads the request from the database every ``refresh_seconds``; in between,
every :data:`CHANGE_CHECK_SECONDS` it reads a cheap fingerprint of the request and reads
the whole request again when that changed. It also reads again as soon as the dashboard's
escalation clock (:mod:`tui.screens.quorum_clock`) has done something. So a reply shows
within a quarter of a second, whichever process recorded it (webhook, polling, typed here).
"""

from __future__ import annotations

from collections.abc import Iterable

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Label

from roster.db import read_session
from roster.quorum import QuorumError, cancel_request, queue_conference, save_next_step
from roster.quorum.changes import request_fingerprint
from roster.quorum.views import RequestView, request_ids, request_view
from tui.formatting import clock_text
from tui.screens.db_errors import DATABASE_ERRORS, ReadFailureNotices, error_line, reports_read_failures
from tui.screens.quorum_clock import EscalationClockTicked
from tui.screens.quorum_forms import QuorumReplyForm, QuorumRequestForm, ReplyTyped
from tui.screens.quorum_service import deliver, typed_reply
from tui.widgets.quorum_invitees import QuorumInvitees
from tui.widgets.quorum_outbox import QuorumOutbox
from tui.widgets.quorum_steps import QuorumSteps, QuorumUnparsed
from tui.widgets.quorum_summary import QuorumSummary
from tui.widgets.quorum_thinking import ThinkingTogetherCard

def open_request_form(app, person_id: int, person_name: str) -> None:
    """Ask for a quorum for a worker: the form, then this request's screen."""

    def opened(request_id: int | None) -> None:
        if request_id is not None:
            app.push_screen(QuorumScreen(request_id))

    app.push_screen(QuorumRequestForm(person_id, person_name), opened)


def open_latest_request(app) -> None:
    """Show the most recent quorum request (use [ and ] there to move between requests)."""
    app.push_screen(QuorumScreen(None))


CHANGE_CHECK_SECONDS = 0.25


class QuorumScreen(ReadFailureNotices, Screen):
    """One request, live."""

    CSS_PATH = "../styles/quorum.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("r", "reply", "Type reply"),
        Binding("c", "conference", "Conference"),
        Binding("x", "cancel_request", "Cancel request"),
        Binding("left_square_bracket", "step(-1)", "Older", show=False),
        Binding("right_square_bracket", "step(1)", "Newer", show=False),
    ]

    class Loaded(Message):
        def __init__(self, request_id: int | None, view: RequestView | None,
                     neighbours: tuple[int | None, int | None], fingerprint: tuple | None) -> None:
            super().__init__()
            self.request_id = request_id
            self.view = view
            self.neighbours = neighbours
            self.fingerprint = fingerprint

    class Done(Message):
        def __init__(self, text: str, error: bool = False) -> None:
            super().__init__()
            self.text = text
            self.error = error

    class Fingerprinted(Message):
        def __init__(self, request_id: int, fingerprint: tuple) -> None:
            super().__init__()
            self.request_id = request_id
            self.fingerprint = fingerprint

    def __init__(self, request_id: int | None) -> None:
        """Show request ``request_id``, or the most recent request when None."""
        super().__init__()
        self.request_id = request_id
        self.view: RequestView | None = None
        self.neighbours: tuple[int | None, int | None] = (None, None)
        self._fingerprint: tuple | None = None  # of request_id, as last checked

    def compose(self) -> ComposeResult:
        yield Header()
        yield QuorumSummary("Loading…", id="quorum-summary")
        with Horizontal(id="quorum-body"):
            with Vertical(id="quorum-left"):
                yield Label("[b]Invited[/b]", classes="section-title")
                yield QuorumInvitees(id="quorum-invitees")
                yield QuorumUnparsed("", id="quorum-unparsed")
            with VerticalScroll(id="quorum-right"):
                yield Label("[b]Steps taken[/b]", classes="section-title")
                yield QuorumSteps("", id="quorum-steps")
        with Vertical(id="quorum-outbox-box"):
            yield Label("[b]Outbox[/b] · no Twilio credentials: pass these on, then press r to type the reply",
                        classes="section-title")
            yield QuorumOutbox(id="quorum-outbox")
        yield ThinkingTogetherCard(id="thinking-together")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#thinking-together").display = False
        self.query_one("#quorum-outbox-box").display = False
        self.query_one("#quorum-unparsed").display = False
        self.refresh_view()
        self.set_interval(self.app.settings.refresh_seconds, self.refresh_view)
        self.set_interval(CHANGE_CHECK_SECONDS, self.check_for_changes)

    @work(thread=True, exclusive=True, group="quorum-change-check")
    @reports_read_failures("the request")
    def check_for_changes(self) -> None:
        """Read the shown request's fingerprint in a worker thread; the screen compares it."""
        request_id = self.request_id
        if request_id is None:
            return
        with read_session(self.app.engine) as session:
            fingerprint = request_fingerprint(session, request_id)
        self.post_message(self.Fingerprinted(request_id, fingerprint))

    @on(Fingerprinted)
    def compare_fingerprint(self, message: Fingerprinted) -> None:
        if message.request_id != self.request_id:
            return
        if self._fingerprint is not None and message.fingerprint != self._fingerprint:
            self._fingerprint = message.fingerprint
            self.refresh_view()

    @work(thread=True, exclusive=True, group="quorum-refresh")
    @reports_read_failures("the request")
    def refresh_view(self) -> None:
        """Read the request (and its neighbours for [ and ]) in a worker thread."""
        with read_session(self.app.engine) as session:
            ids = request_ids(session)
            request_id = self.request_id if self.request_id is not None else (ids[0] if ids else None)
            # the fingerprint before the view: a change in between is seen by the next check
            fingerprint = request_fingerprint(session, request_id) if request_id else None
            view = request_view(session, request_id, now=self.app.clock(), with_candidates=False) if request_id else None
        position = ids.index(request_id) if request_id in ids else -1
        older = ids[position + 1] if 0 <= position < len(ids) - 1 else None
        newer = ids[position - 1] if position > 0 else None
        self.post_message(self.Loaded(request_id, view, (older, newer), fingerprint))

    @on(EscalationClockTicked)
    def clock_ticked(self, message: EscalationClockTicked) -> None:
        """The escalation clock took a step, sent something or read replies: show it now."""
        if message.changed:
            self.refresh_view()

    @on(Loaded)
    def show(self, message: Loaded) -> None:
        if message.request_id != self.request_id and self.request_id is not None:
            return  # read before [ or ] moved to another request
        self.request_id = message.request_id
        self._fingerprint = message.fingerprint
        view, self.view, self.neighbours = message.view, message.view, message.neighbours
        if view is None:
            self.query_one(QuorumSummary).update(
                "No quorum requests yet: select a worker on the roster board and press [b]q[/b]."
                if self.request_id is None else f"No quorum request {self.request_id}.")
            return
        now = self.app.clock()
        self.sub_title = f"Quorum #{view.id} · {clock_text(now)}"
        self.query_one(QuorumSummary).show(view, now)
        self.query_one(QuorumInvitees).show(view.invitees, now)
        self.query_one(QuorumSteps).show(view.events)
        self.query_one(QuorumUnparsed).show(view.unparsed)
        outbox = [m for m in view.messages if m["status"] == "outbox"]
        self.query_one("#quorum-outbox-box").display = bool(outbox)
        self.query_one(QuorumOutbox).show(outbox)
        card = self.query_one(ThinkingTogetherCard)
        card.display = view.state == "formed"
        if card.display:
            card.show(view.next_step)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_step(self, direction: int) -> None:
        target = self.neighbours[0] if direction < 0 else self.neighbours[1]
        if target is not None:
            self.request_id, self._fingerprint = target, None
            self.query_one(QuorumInvitees).clear()
            self.refresh_view()

    def action_reply(self) -> None:
        outbox = self.query_one(QuorumOutbox)
        source = outbox if outbox.has_focus else self.query_one(QuorumInvitees)
        self.app.push_screen(QuorumReplyForm(source.selected_phone), self._record_reply)

    def _record_reply(self, reply: ReplyTyped | None) -> None:
        if reply is not None:
            self._write(lambda: typed_reply(self.app, reply.phone, reply.text))

    def action_conference(self) -> None:
        self._write(lambda: self._call(queue_conference, "Calling everyone into the conference."))

    def action_cancel_request(self) -> None:
        self._write(lambda: self._call(cancel_request, "Request cancelled; people reached are told."))

    @on(ThinkingTogetherCard.NextStepSubmitted)
    def note_next_step(self, message: ThinkingTogetherCard.NextStepSubmitted) -> None:
        self._write(lambda: self._save_next_step(message.text))

    def _save_next_step(self, text: str) -> str:
        with self.app.new_session() as session:
            save_next_step(session, self.request_id, text, now=self.app.clock())
        return "Next step noted."

    def _call(self, action, done: str) -> str:
        if self.request_id is None:
            return "No quorum request shown."
        with self.app.new_session() as session:
            action(session, self.request_id, now=self.app.clock())
        deliver(self.app)
        return done

    @work(thread=True, group="quorum-write")
    def _write(self, job) -> None:
        """Run a change in a worker; report it, and read the request again."""
        try:
            text = job()
        except QuorumError as error:
            self.post_message(self.Done(str(error), error=True))
            return
        except DATABASE_ERRORS as error:  # what was saved before it shows on the refresh that follows
            self.post_message(self.Done(f"Could not finish: database: {error_line(error)}", error=True))
            return
        self.post_message(self.Done(text, error=text.startswith("Not recorded")))

    @on(Done)
    def done(self, message: Done) -> None:
        self.notify(message.text, severity="error" if message.error else "information", timeout=4)
        self.refresh_view()

    def palette_commands(self) -> Iterable[SystemCommand]:
        """This screen's actions for the command palette (ctrl+p)."""
        yield SystemCommand("Type a reply on a worker's behalf", "Outbox mode or a reply given by phone", self.action_reply)
        yield SystemCommand("Dial the quorum into a conference", "Requester and joiners", self.action_conference)
        yield SystemCommand("Cancel this quorum request", "People reached are told", self.action_cancel_request)
        yield SystemCommand("Older quorum request", "Show the previous request", lambda: self.action_step(-1))
        yield SystemCommand("Newer quorum request", "Show the next request", lambda: self.action_step(1))
