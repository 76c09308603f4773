"""The roster board: who is on duty, in the field, off or on leave, right now."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, LoadingIndicator, Select, Static

from roster.availability import set_status
from roster.board import Board, BoardEntry, board_reader
from roster.db import ReadWhenChanged
from roster.models import Role, Status
from tui.formatting import ROLE_LABELS, clock_text
from tui.screens.db_errors import DATABASE_ERRORS, error_line
from tui.screens.status_form import StatusChange, StatusForm
from tui.widgets.quorum_clock_line import QuorumClockLine
from tui.widgets.roster_table import RosterTable

ALL = "all"
ROLE_ORDER = {role.value: index for index, role in enumerate(Role)}


class RosterBoardScreen(Screen):
    """Everyone active with their status now; checked every second, read again when it may have changed."""

    CSS_PATH = "../styles/roster_board.tcss"
    BINDINGS = [
        Binding("e", "change_status", "Status"),
        Binding("f", "preset('in_field')", "In field"),
        Binding("x", "preset('sick', 'today')", "Sick today"),
        Binding("l", "preset('leave')", "Leave"),
        Binding("d", "preset('on_duty', 'today')", "On duty"),
        Binding("q", "request_quorum", "Quorum"),
        Binding("w", "show_quorums", "Quorums", show=False),
        Binding("ctrl+r", "refresh_now", "Refresh", show=False),
    ]

    class BoardLoaded(Message):
        def __init__(self, board: Board) -> None:
            super().__init__()
            self.board = board

    class BoardUnchanged(Message):
        """The board read last is still true at ``at``."""

        def __init__(self, at: datetime) -> None:
            super().__init__()
            self.at = at

    class BoardLoadFailed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    class StatusSaved(Message):
        def __init__(self, text: str, error: bool = False) -> None:
            super().__init__()
            self.text = text
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self.board: Board | None = None
        self.reader: ReadWhenChanged[Board] | None = None
        self._checked_at: datetime | None = None  # when the board was last found up to date
        self._loading = False
        self._stale = False
        self._force = False
        self._shown_count = 0
        self._reachable = 0
        self._status_line = ""
        self.role_filter = ALL
        self.team_filter = ALL

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filters"):
            yield Label("Role", classes="filter-label")
            yield Select(
                [("All roles", ALL)] + [(ROLE_LABELS[r.value], r.value) for r in Role],
                value=ALL, allow_blank=False, id="role-filter",
            )
            yield Label("Team", classes="filter-label")
            yield Select([("All teams", ALL)], value=ALL, allow_blank=False, id="team-filter")
        yield LoadingIndicator(id="board-loading")
        yield RosterTable(id="roster-table")
        yield Static("Loading the roster…", id="board-status")
        yield QuorumClockLine(id="quorum-clock")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Roster board · {clock_text(self.app.clock())}"
        self.query_one(RosterTable).display = False
        self.reader = board_reader(self.app.engine)
        self.refresh_board()
        self.set_interval(self.app.settings.refresh_seconds, self.check_board)

    def on_unmount(self) -> None:
        if self.reader is not None:
            self.reader.close()

    def check_board(self) -> None:
        """Read the board again if it may have changed (the timer's turn)."""
        self._start_load(force=False)

    def refresh_board(self) -> None:
        """Read the board again now, unless a read is running (then once more after it)."""
        self._start_load(force=True)

    def _start_load(self, force: bool) -> None:
        self._force = self._force or force
        if self._loading:
            self._stale = True
            return
        force, self._force = self._force, False
        self._loading, self._stale = True, False
        self._load_board(force)

    @work(thread=True, group="board-refresh")
    def _load_board(self, force: bool) -> None:
        """Read the board in a worker thread (unless it is unchanged) and tell the screen."""
        at = self.app.clock()
        try:
            board = self.reader.read(at, force=force)
        except Exception as error:  # the database went away: say so, keep the last board
            self.post_message(self.BoardLoadFailed(error_line(error)))
            return
        self.post_message(self.BoardUnchanged(at) if board is None else self.BoardLoaded(board))

    def _load_ended(self) -> None:
        self._loading = False
        if self._stale:
            self._start_load(force=False)

    @on(BoardLoadFailed)
    def show_load_failure(self, message: BoardLoadFailed) -> None:
        self._load_ended()
        self._set_status_line(f"[b]Could not read the roster:[/b] {message.error}")

    @on(BoardUnchanged)
    def board_unchanged(self, message: BoardUnchanged) -> None:
        self._load_ended()
        self._checked_at = message.at
        self._show_status()

    @on(BoardLoaded)
    def show_board(self, message: BoardLoaded) -> None:
        self._load_ended()
        first_load = self.board is None
        self.board = message.board
        self._checked_at = message.board.at
        if first_load:
            self.query_one("#board-loading").display = False
            self.query_one(RosterTable).display = True
            self.query_one(RosterTable).focus()
        self._sync_team_options()
        self._render_board()

    def _sync_team_options(self) -> None:
        select = self.query_one("#team-filter", Select)
        options = [("All teams", ALL)] + [(t, t) for t in self.board.teams]
        if getattr(select, "_known_teams", None) != self.board.teams:
            select.set_options(options)
            select._known_teams = self.board.teams
            select.value = self.team_filter if self.team_filter in (ALL, *self.board.teams) else ALL

    def visible_entries(self) -> list[BoardEntry]:
        """Entries passing the role and team filters, grouped by role then by name."""
        entries = [
            e for e in self.board.entries
            if (self.role_filter == ALL or e.role == self.role_filter)
            and (self.team_filter == ALL or self.team_filter in e.teams)
        ]
        return sorted(entries, key=lambda e: (ROLE_ORDER.get(e.role, 99), e.name))

    def _render_board(self) -> None:
        if self.board is None:
            return
        entries = self.visible_entries()
        self.query_one(RosterTable).show(entries, self.board.at)
        self._shown_count = len(entries)
        self._reachable = sum(1 for e in entries if e.status in (Status.ON_DUTY, Status.IN_FIELD))
        self._show_status()

    def _show_status(self) -> None:
        """The clock in the header and the status line, as of the last check."""
        if self.board is None:
            return
        checked_at = self._checked_at or self.board.at
        self.sub_title = f"Roster board · {clock_text(checked_at)}"
        if not self.board.entries:
            self._set_status_line(
                "Nobody on the roster yet: run [b]diveboat demo[/b] or [b]diveboat people import FILE.csv[/b]"
            )
            return
        self._set_status_line(
            f"{self._shown_count} shown · [b]{self._reachable} reachable now[/b] · updated {clock_text(checked_at)[-5:]}"
        )

    def _set_status_line(self, text: str) -> None:
        """Show ``text`` below the table (a line that did not change is not drawn again)."""
        if text != self._status_line:
            self._status_line = text
            self.query_one("#board-status", Static).update(text)

    @on(Select.Changed, "#role-filter")
    def filter_role(self, event: Select.Changed) -> None:
        self.role_filter = event.value if isinstance(event.value, str) else ALL
        self._render_board()

    @on(Select.Changed, "#team-filter")
    def filter_team(self, event: Select.Changed) -> None:
        self.team_filter = event.value if isinstance(event.value, str) else ALL
        self._render_board()

    def selected_entry(self) -> BoardEntry | None:
        person_id = self.query_one(RosterTable).selected_id
        if self.board is None or person_id is None:
            return None
        return next((e for e in self.board.entries if e.person_id == person_id), None)

    def action_change_status(self) -> None:
        entry = self.selected_entry()
        if entry:
            self._open_form(entry, entry.status, "")

    def action_preset(self, status: str, until: str = "") -> None:
        entry = self.selected_entry()
        if entry:
            self._open_form(entry, Status(status), until)

    def _open_form(self, entry: BoardEntry, status: Status, until: str) -> None:
        form = StatusForm(entry.person_id, entry.name, self.app.clock(), status, until)
        self.app.push_screen(form, self.save_status)

    def save_status(self, change: StatusChange | None) -> None:
        if change is not None:
            self._write_status(change)

    @work(thread=True, group="board-write")
    def _write_status(self, change: StatusChange) -> None:
        """Write the change at once, in a worker; any other process sees it on its next refresh."""
        try:
            with self.app.new_session() as session:
                set_status(session, change.person_id, change.status, change.until,
                           starts_at=self.app.clock(), note=change.note)
        except (ValueError, LookupError) as error:
            self.post_message(self.StatusSaved(f"Not saved: {error}", error=True))
            return
        except DATABASE_ERRORS as error:
            self.post_message(self.StatusSaved(f"Not saved: database: {error_line(error)}", error=True))
            return
        self.post_message(self.StatusSaved("Status saved."))

    @on(StatusSaved)
    def status_saved(self, message: StatusSaved) -> None:
        self.notify(message.text, severity="error" if message.error else "information", timeout=3)
        self.refresh_board()

    def action_request_quorum(self) -> None:
        entry = self.selected_entry()
        if entry:
            from tui.screens.quorum import open_request_form

            open_request_form(self.app, entry.person_id, entry.name)

    def action_show_quorums(self) -> None:
        from tui.screens.quorum import open_latest_request

        open_latest_request(self.app)

    def action_refresh_now(self) -> None:
        self.refresh_board()

    def palette_commands(self) -> Iterable[SystemCommand]:
        """The board's actions for the command palette (ctrl+p)."""
        yield SystemCommand("Change status of selected person", "Open the status form", self.action_change_status)
        yield SystemCommand("Mark selected person in field", "In the field until a time", lambda: self.action_preset("in_field"))
        yield SystemCommand("Mark selected person sick today", "Sick until the end of today", lambda: self.action_preset("sick", "today"))
        yield SystemCommand("Mark selected person on leave", "On leave until a date", lambda: self.action_preset("leave"))
        yield SystemCommand("Mark selected person on duty", "Back on duty for today", lambda: self.action_preset("on_duty", "today"))
        yield SystemCommand("Refresh the roster now", "Read the database again", self.action_refresh_now)
        for role in Role:
            yield SystemCommand(f"Show role: {ROLE_LABELS[role.value]}", "Filter the board", lambda r=role.value: self._set_filter("#role-filter", r))
        yield SystemCommand("Show all roles", "Clear the role filter", lambda: self._set_filter("#role-filter", ALL))
        for team in self.board.teams if self.board else ():
            yield SystemCommand(f"Show team: {team}", "Filter the board", lambda t=team: self._set_filter("#team-filter", t))
        yield SystemCommand("Show all teams", "Clear the team filter", lambda: self._set_filter("#team-filter", ALL))

    def _set_filter(self, selector: str, value: str) -> None:
        self.query_one(selector, Select).value = value
