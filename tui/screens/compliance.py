"""The compliance screen: what is overdue or in breach, most urgent first; Enter jumps to the person."""

from __future__ import annotations

from collections.abc import Iterable

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, Select, Static

from roster.db import ReadWhenChanged
from roster.supervision.compliance import KIND_LABELS, ComplianceReport, ComplianceView, compliance_reader
from tui.formatting import clock_text
from tui.screens.db_errors import ReadFailureNotices, reports_read_failures
from tui.widgets.compliance_table import ComplianceTable

ALL = "all"


def open_compliance(app) -> None:
    """Show the compliance screen (unless it is already showing)."""
    if not isinstance(app.screen, ComplianceScreen):
        app.push_screen(ComplianceScreen())


class ComplianceScreen(ReadFailureNotices, Screen):
    """Breaches across the service or one team, refreshed from the database."""

    CSS_PATH = "../styles/compliance.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("g", "open_person", "Go to person (or Enter)"),
        Binding("ctrl+r", "refresh_now", "Refresh", show=False),
    ]

    class Loaded(Message):
        def __init__(self, view: ComplianceView) -> None:
            super().__init__()
            self.view = view

    def __init__(self) -> None:
        super().__init__()
        self.report: ComplianceReport | None = None
        self.reader: ReadWhenChanged[ComplianceView] | None = None
        self.team = ALL
        self.teams: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="compliance-bar"):
            yield Label("Team", classes="filter-label")
            yield Select([("All teams", ALL)], value=ALL, allow_blank=False, id="compliance-team")
            yield Static("", id="compliance-summary")
        yield ComplianceTable(id="compliance-table")
        yield Static("", id="compliance-totals")
        yield Footer()

    def on_mount(self) -> None:
        self.reader = compliance_reader(self.app.engine)
        self.refresh_report()
        self.set_interval(max(self.app.settings.refresh_seconds, 5.0), self.check_report)

    def on_unmount(self) -> None:
        if self.reader is not None:
            self.reader.close()

    def check_report(self) -> None:
        """Read the report again if it may have changed (the timer's turn); the clock moves on anyway."""
        self.sub_title = f"Compliance · {clock_text(self.app.clock())}"
        self._load_report(force=False)

    def refresh_report(self) -> None:
        """Read the report again now."""
        self._load_report(force=True)

    @work(thread=True, group="compliance-load")
    @reports_read_failures("the compliance report")
    def _load_report(self, force: bool) -> None:
        view = self.reader.read(self.app.clock(), force=force)
        if view is not None:
            self.post_message(self.Loaded(view))

    @on(Loaded)
    def show(self, message: Loaded) -> None:
        self.report = message.view.report
        if message.view.teams != self.teams:
            self.teams = message.view.teams
            select = self.query_one("#compliance-team", Select)
            with self.prevent(Select.Changed):
                select.set_options([("All teams", ALL)] + [(t, t) for t in self.teams])
                select.value = self.team if self.team in self.teams else ALL
        self._show_items()

    def visible_items(self) -> list:
        items = self.report.items if self.report else []
        return [i for i in items if self.team == ALL or self.team in i.teams]

    def _show_items(self) -> None:
        items = self.visible_items()
        table = self.query_one(ComplianceTable)
        table.show(items)
        breaches = sum(1 for i in items if i.breach)
        self.sub_title = f"Compliance · {clock_text(self.app.clock())}"
        self.query_one("#compliance-summary", Static).update(
            f"[b]{breaches} breach{'es' if breaches != 1 else ''}[/b] · most urgent first · Enter: go to the person"
            if items else "Nothing overdue or in breach."
        )
        totals = self.report.by_team() if self.report else {}
        shown = {t: c for t, c in totals.items() if self.team in (ALL, t)}
        self.query_one("#compliance-totals", Static).update("   ".join(
            f"[b]{team}[/b]: " + ", ".join(f"{KIND_LABELS[k]} {n}" for k, n in counts.items())
            for team, counts in shown.items()
        ))
        if items and not table.has_focus:
            table.focus()

    @on(Select.Changed, "#compliance-team")
    def team_changed(self, event: Select.Changed) -> None:
        self.team = event.value if isinstance(event.value, str) else ALL
        self._show_items()

    @on(ComplianceTable.RowSelected)
    def row_chosen(self) -> None:
        self.action_open_person()

    def action_open_person(self) -> None:
        item = self.query_one(ComplianceTable).selected_item
        if item is None or item.person_id is None:
            return
        from tui.screens.supervision import SupervisionScreen

        self.app.push_screen(SupervisionScreen(f"person:{item.person_id}"))

    def action_refresh_now(self) -> None:
        self.refresh_report()

    def action_back(self) -> None:
        self.app.pop_screen()

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Go to the selected person's supervision", "Their year and next sessions", self.action_open_person)
        yield SystemCommand("Refresh compliance now", "Read the database again", self.action_refresh_now)
        for team in self.teams:
            yield SystemCommand(f"Compliance for team: {team}", "Filter the list", lambda t=team: self._set_team(t))
        yield SystemCommand("Compliance for all teams", "Clear the team filter", lambda: self._set_team(ALL))

    def _set_team(self, team: str) -> None:
        self.query_one("#compliance-team", Select).value = team
