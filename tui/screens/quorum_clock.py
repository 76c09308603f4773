"""The escalation clock for the whole dashboard, whichever screen is open.

Issue 3: the clock (voice calls, later waves, replacements, the deadline) runs in
``diveboat serve`` and in the dashboard. Every :data:`CLOCK_SECONDS` a thread worker
turns :class:`notify.clock.EscalationLoop` once (advance, read replies by polling
when Twilio is configured without a public URL, send what is queued), reads which
requests are open, keeps that as :attr:`DashboardClock.state` for the status line,
and tells the screen on top with an :class:`EscalationClockTicked` message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.message import Message
from textual.worker import Worker, WorkerState

from roster.db import read_session
from tui.screens.db_errors import error_line

CLOCK_SECONDS = 2.0


@dataclass(frozen=True)
class ClockState:
    """What the status line shows: when the clock last ran, which requests are open, any failure."""

    ran_at: datetime | None = None
    open_requests: tuple[int, ...] = ()
    error: str | None = None


class EscalationClockTicked(Message):
    """Posted to the screen on top after each turn; ``changed``: steps taken, messages sent or replies read."""

    def __init__(self, state: ClockState, changed: bool) -> None:
        super().__init__()
        self.state = state
        self.changed = changed


class DashboardClock:
    """Turns the escalation loop in a thread worker every ``seconds`` while the app runs."""

    def __init__(self, app, seconds: float = CLOCK_SECONDS) -> None:
        self.app = app
        self.seconds = seconds
        self.state = ClockState()
        self._loop = None
        self._worker: Worker | None = None

    def start(self) -> DashboardClock:
        """A turn every ``seconds``, the first after ``seconds`` too, so the dashboard paints
        before the clock's first turn loads the Twilio client (timers stop with the app)."""
        self.app.set_interval(self.seconds, self.turn)
        return self

    def turn(self) -> None:
        """Start a turn, unless the last one is still running (a slow Twilio)."""
        if self._worker is not None and self._worker.state in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        self._worker = self.app.run_worker(self._run, thread=True, group="escalation-clock", exit_on_error=False)

    def _run(self) -> None:
        from notify.clock import EscalationLoop
        from roster.quorum.views import list_requests

        app = self.app
        changed = False
        try:
            if self._loop is None:
                self._loop = EscalationLoop(app.settings, app.new_session, clock=app.clock)
            report = self._loop.tick()
            changed = bool(report.steps or report.delivered.handled or (report.polled and report.polled.recorded))
            with read_session(app.engine) as session:
                open_requests = tuple(r["id"] for r in list_requests(session, open_only=True))
            state = ClockState(app.clock(), open_requests)
        except Exception as error:  # Twilio or the database away: say so on the status line, try again
            state = ClockState(app.clock(), self.state.open_requests, error_line(error)[:120])
        self.state = state
        app.screen.post_message(EscalationClockTicked(state, changed))
