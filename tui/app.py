"""The Dive Boat dashboard: a thin Textual app; screens do the work."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import sqlalchemy as sa
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from roster.db import SessionFactory, session_factory
from roster.settings import Settings
from roster.timeutil import utcnow

Clock = Callable[[], datetime]


class DiveBoatApp(App):
    """Holds settings, the database and the clock; screens call services with them."""

    CSS_PATH = "styles/app.tcss"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("s", "supervision", "Supervision", show=False),
        Binding("k", "compliance", "Compliance", show=False),
    ]

    def __init__(self, settings: Settings, engine: sa.Engine, clock: Clock = utcnow, *,
                 escalation_clock: bool = True) -> None:
        super().__init__()
        self.settings = settings
        self.engine = engine
        self.new_session: SessionFactory = session_factory(engine)
        self.clock = clock
        self.title = settings.service_name
        self.runs_escalation_clock = escalation_clock
        self.escalation_clock = None  # the quorum escalation clock, started on mount (tui.screens.quorum_clock)

    def on_mount(self) -> None:
        from tui.screens.quorum_clock import DashboardClock
        from tui.screens.roster_board import RosterBoardScreen

        if self.runs_escalation_clock:
            self.escalation_clock = DashboardClock(self).start()
        self.push_screen(RosterBoardScreen())

    def action_supervision(self) -> None:
        from tui.screens.supervision import open_supervision

        open_supervision(self)

    def action_compliance(self) -> None:
        from tui.screens.compliance import open_compliance

        open_compliance(self)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own commands, then whatever the current screen offers."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Supervision plan", "The year for a person or team, next sessions", self.action_supervision)
        yield SystemCommand("Compliance", "Overdue and breaches, most urgent first", self.action_compliance)
        palette_commands = getattr(screen, "palette_commands", None)
        if palette_commands is not None:
            yield from palette_commands()


def create_app(settings: Settings, engine: sa.Engine, clock: Clock = utcnow, *,
               escalation_clock: bool = True) -> DiveBoatApp:
    """The one factory that builds the dashboard, for the CLI and for tests.

    ``escalation_clock=False`` leaves quorum requests alone (a test that wants nothing to move).
    """
    return DiveBoatApp(settings, engine, clock, escalation_clock=escalation_clock)


def run_dashboard(settings: Settings, engine: sa.Engine) -> None:
    """Open the dashboard in this terminal."""
    create_app(settings, engine).run()
