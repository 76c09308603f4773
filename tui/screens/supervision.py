"""The supervision screen: a person's or team's year as a month grid, and the next sessions.

Postpone, cancel and rebook act on the selected session; the slot Dive Boat would
propose to reconvene it (first free for both people, within 5 working days or flagged)
is shown as soon as a session is selected. Reads and writes run in worker threads.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, Select, Static

from roster.db import read_session
from roster.supervision.agreements import SupervisionError
from roster.supervision.changes import Proposal, cancel, mark_held, postpone, propose_rebooking, rebook
from roster.supervision.views import SessionView, YearView, plan_subjects, year_view
from roster.timeutil import LONDON
from tui.formatting import clock_text
from tui.screens.db_errors import DATABASE_ERRORS, ReadFailureNotices, error_line, reports_read_failures
from tui.screens.supervision_forms import ReasonForm, RebookForm
from tui.widgets.session_table import SessionTable
from tui.widgets.year_grid import YearGrid


def open_supervision(app, subject: str | None = None) -> None:
    """Show the supervision screen: for ``subject`` (``person:ID``/``team:ID``), else for the
    person selected on the current screen, else for the first team."""
    if isinstance(app.screen, SupervisionScreen):
        return
    if subject is None and hasattr(app.screen, "selected_entry"):
        entry = app.screen.selected_entry()
        subject = f"person:{entry.person_id}" if entry is not None else None
    app.push_screen(SupervisionScreen(subject))


def proposal_text(proposal: Proposal, *, postponed: bool) -> str:
    """The proposed slot in words, with the five-working-day flag."""
    deadline = f"reconvene by {proposal.reconvene_by:%a %d %b}"
    if proposal.slot is None:
        return f"[b]No free slot for both people in the next weeks[/b] ({deadline}): [b reverse] BREACH [/]"
    slot = f"{proposal.slot.starts_at.astimezone(LONDON):%a %d %b %Y %H:%M}"
    lead = "Proposed slot" if postponed else "If postponed, the first slot free for everyone"
    flag = "  [b reverse] BREACH: later than 5 working days [/]" if proposal.breach else "  (within 5 working days)"
    return f"{lead}: [b]{slot}[/b] ({deadline}){flag}"


class SupervisionScreen(ReadFailureNotices, Screen):
    """One person's or team's supervision year."""

    CSS_PATH = "../styles/supervision.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("p", "postpone", "Postpone"),
        Binding("c", "cancel_session", "Cancel"),
        Binding("b", "rebook", "Rebook"),
        Binding("h", "held", "Held"),
        Binding("left_square_bracket", "year(-1)", "Year -1"),
        Binding("right_square_bracket", "year(1)", "Year +1"),
    ]

    class Loaded(Message):
        def __init__(self, subjects: list[tuple[str, str]], subject: str | None, view: YearView | None) -> None:
            super().__init__()
            self.subjects, self.subject, self.view = subjects, subject, view

    class ProposalLoaded(Message):
        def __init__(self, session_id: int, proposal: Proposal, open_form: bool) -> None:
            super().__init__()
            self.session_id, self.proposal, self.open_form = session_id, proposal, open_form

    class Done(Message):
        def __init__(self, text: str, error: bool = False) -> None:
            super().__init__()
            self.text, self.error = text, error

    def __init__(self, subject: str | None = None, year: int | None = None) -> None:
        super().__init__()
        self.subject = subject
        self.year = year
        self.view: YearView | None = None
        self.subjects: list[tuple[str, str]] = []
        self.proposals: dict[int, Proposal] = {}
        self._shown_once = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="supervision-bar"):
            yield Label("Plan for", classes="filter-label")
            yield Select([], prompt="Choose a person or team", id="subject")
            yield Static("", id="year-label")
        with Horizontal(id="supervision-body"):
            yield YearGrid("Loading…", id="year-grid")
            with Vertical(id="supervision-side"):
                yield Label("[b]Next sessions[/b]", classes="section-title")
                yield SessionTable(id="sessions")
                yield Static("", id="session-detail")
        yield Static("", id="supervision-status")
        yield Footer()

    def on_mount(self) -> None:
        self.year = self.year or self.app.clock().astimezone(LONDON).year
        self.load()

    @property
    def today(self):
        return self.app.clock().astimezone(LONDON).date()

    @work(thread=True, exclusive=True, group="supervision-load")
    @reports_read_failures("the supervision plan")
    def load(self) -> None:
        """Read whose plans exist and the chosen one's year."""
        with read_session(self.app.engine) as session:
            subjects = plan_subjects(session)
            subject = self.subject if self.subject in {key for key, _ in subjects} else (subjects[0][0] if subjects else None)
            view = None
            if subject is not None:
                kind, _, ident = subject.partition(":")
                ids = {"person_id": int(ident)} if kind == "person" else {"team_id": int(ident)}
                view = year_view(session, self.year, self.today, **ids)
        self.post_message(self.Loaded(subjects, subject, view))

    @on(Loaded)
    def show(self, message: Loaded) -> None:
        self.subject, self.view = message.subject, message.view
        select = self.query_one("#subject", Select)
        if message.subjects != self.subjects:
            self.subjects = message.subjects
            with self.prevent(Select.Changed):
                select.set_options([(label, key) for key, label in self.subjects])
        if self.subject is not None and select.value != self.subject:
            with self.prevent(Select.Changed):
                select.value = self.subject
        self.query_one("#year-label", Static).update(f"[b]{self.year}[/b]  (\\[ and ] change year)")
        self.sub_title = f"Supervision · {clock_text(self.app.clock())}"
        if self.view is None:
            self.query_one(YearGrid).update("No supervision yet: run [b]diveboat plan generate --year YEAR[/b].")
            return
        plan = self.view.plan
        self.query_one(YearGrid).show(self.year, plan.sessions, self.view.holidays, self.today)
        table = self.query_one(SessionTable)
        table.show(self.next_sessions())
        if not self._shown_once:
            self._shown_once = True
            table.focus()
        self._show_detail(table.selected_id)
        occurring = sum(1 for s in plan.sessions if s.occurring)
        waiting = sum(1 for s in plan.sessions if s.needs_rebooking)
        status = f"{plan.name}: {occurring} sessions in {self.year} · {self.view.region} bank holidays"
        self.query_one("#supervision-status", Static).update(
            status + (f" · [b]{waiting} postponed, not yet rebooked[/b]" if waiting else "")
        )

    def next_sessions(self) -> list[SessionView]:
        """From today on (all of a past year), plus postponed sessions still to rebook."""
        sessions = self.view.plan.sessions if self.view else []
        if self.year < self.today.year:
            return sessions
        return [s for s in sessions if s.local_start.date() >= self.today or s.needs_rebooking]

    def selected(self) -> SessionView | None:
        session_id = self.query_one(SessionTable).selected_id
        sessions = self.view.plan.sessions if self.view else []
        return next((s for s in sessions if s.id == session_id), None)

    @on(SessionTable.IdHighlighted)
    def session_selected(self, message: SessionTable.IdHighlighted) -> None:
        self._show_detail(message.row_id)

    def _show_detail(self, session_id: int | None) -> None:
        view = self.selected()
        detail = self.query_one("#session-detail", Static)
        if view is None:
            detail.update("")
            return
        lines = [f"[b]{view.title}[/b]", f"{view.local_start:%A %d %B %Y, %H:%M}–{view.ends_at.astimezone(LONDON):%H:%M}"
                 + (f" · {view.venue}" if view.venue else ""), ", ".join(view.people)]
        if view.status == "booked" or view.needs_rebooking:
            proposal = self.proposals.get(view.id)
            lines.append(proposal_text(proposal, postponed=view.needs_rebooking) if proposal else "Working out the proposed slot…")
            if proposal is None:
                self.find_proposal(view.id, open_form=False)
        detail.update("\n".join(lines))

    @work(thread=True, exclusive=True, group="supervision-proposal")
    @reports_read_failures("a rebooking proposal")
    def find_proposal(self, session_id: int, open_form: bool) -> None:
        with read_session(self.app.engine) as session:
            proposal = propose_rebooking(session, session_id, now=self.app.clock())
        self.post_message(self.ProposalLoaded(session_id, proposal, open_form))

    @on(ProposalLoaded)
    def proposal_loaded(self, message: ProposalLoaded) -> None:
        self.proposals[message.session_id] = message.proposal
        view = self.selected()
        if view is not None and view.id == message.session_id:
            self._show_detail(view.id)
            if message.open_form:
                self._open_rebook_form(view, message.proposal)

    def _describe(self, view: SessionView) -> str:
        return f"{view.title} · {view.local_start:%a %d %b %Y %H:%M}"

    def action_postpone(self) -> None:
        view = self.selected()
        if view is None or view.status != "booked":
            self.notify("Select a booked session to postpone.", severity="warning")
            return
        proposal = self.proposals.get(view.id)
        note = proposal_text(proposal, postponed=False) if proposal else ""
        self.app.push_screen(ReasonForm("Postpone a session", self._describe(view), note),
                             lambda reason: reason and self._write(self._postpone, view.id, reason))

    def action_cancel_session(self) -> None:
        view = self.selected()
        if view is None or view.status not in ("booked", "postponed"):
            self.notify("Select a booked or postponed session to cancel.", severity="warning")
            return
        note = "Cancelling should be rare: postponing keeps the 5-working-day rule in view."
        self.app.push_screen(ReasonForm("Cancel a session", self._describe(view), note),
                             lambda reason: reason and self._write(self._cancel, view.id, reason))

    def action_rebook(self) -> None:
        view = self.selected()
        if view is None or not view.needs_rebooking:
            self.notify("Select a postponed session to rebook.", severity="warning")
            return
        proposal = self.proposals.get(view.id)
        if proposal is None:
            self.find_proposal(view.id, open_form=True)
        else:
            self._open_rebook_form(view, proposal)

    def _open_rebook_form(self, view: SessionView, proposal: Proposal) -> None:
        slot = proposal.slot.starts_at if proposal.slot else None
        self.app.push_screen(RebookForm(self._describe(view), proposal_text(proposal, postponed=True), slot),
                             lambda when: when and self._write(self._rebook, view.id, when))

    def action_held(self) -> None:
        view = self.selected()
        if view is None or view.status != "booked" or view.starts_at > self.app.clock():
            self.notify("Select a booked session that has started to mark it held.", severity="warning")
            return
        self._write(self._held, view.id, None)

    def _postpone(self, session, session_id: int, reason: str) -> str:
        proposal = postpone(session, session_id, reason, now=self.app.clock())
        return "Postponed. " + proposal_text(proposal, postponed=True).replace("[b]", "").replace("[/b]", "") + " Press b to rebook."

    def _cancel(self, session, session_id: int, reason: str) -> str:
        cancel(session, session_id, reason, now=self.app.clock())
        return "Cancelled; calendars drop it on their next refresh."

    def _rebook(self, session, session_id: int, when: datetime) -> str:
        result = rebook(session, session_id, now=self.app.clock(), starts_at=when)
        booked = f"{result.session.starts_at.astimezone(LONDON):%a %d %b %H:%M}"
        return f"Rebooked for {booked}." + (" BREACH: later than 5 working days." if result.breach else "")

    def _held(self, session, session_id: int, _) -> str:
        mark_held(session, session_id, now=self.app.clock())
        return "Marked held; write the record within 5 working days."

    @work(thread=True, group="supervision-write")
    def _write(self, change, session_id: int, value) -> None:
        """Make a change in a worker; report it and read the plan again."""
        try:
            with self.app.new_session() as session:
                text = change(session, session_id, value)
        except SupervisionError as error:
            self.post_message(self.Done(str(error), error=True))
            return
        except DATABASE_ERRORS as error:
            self.post_message(self.Done(f"Not saved: database: {error_line(error)}", error=True))
            return
        self.post_message(self.Done(text))

    @on(Done)
    def done(self, message: Done) -> None:
        self.notify(message.text, severity="error" if message.error else "information", timeout=6)
        if not message.error:
            self.proposals.clear()  # the plan changed: proposals are worked out again
        self.load()

    @on(Select.Changed, "#subject")
    def subject_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.subject:
            self.subject = event.value
            self.load()

    def action_year(self, delta: int) -> None:
        self.year += delta
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

    def palette_commands(self) -> Iterable[SystemCommand]:
        """This screen's actions for the command palette (ctrl+p)."""
        yield SystemCommand("Postpone the selected session", "With a reason; shows the proposed slot", self.action_postpone)
        yield SystemCommand("Rebook the selected postponed session", "Proposed slot first", self.action_rebook)
        yield SystemCommand("Cancel the selected session", "With a reason", self.action_cancel_session)
        yield SystemCommand("Mark the selected session held", "Records its case reviews", self.action_held)
        yield SystemCommand("Previous year", "Show the year before", lambda: self.action_year(-1))
        yield SystemCommand("Next year", "Show the year after", lambda: self.action_year(1))
        for key, label in self.subjects:
            yield SystemCommand(f"Supervision plan: {label}", "Show this plan", lambda k=key: self._choose(k))

    def _choose(self, subject: str) -> None:
        self.subject = subject
        self.load()
