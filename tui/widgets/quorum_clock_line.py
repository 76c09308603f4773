"""One line on the roster board while a quorum is open: which, and when the escalation clock last ran."""

from __future__ import annotations

from textual.widgets import Static

from roster.timeutil import LONDON

REFRESH_SECONDS = 1.0


class QuorumClockLine(Static):
    """Hidden while no quorum is open; reads the app's clock state (no database) every second."""

    DEFAULT_CSS = """
    QuorumClockLine {
        height: 1;
        padding: 0 1;
        background: $warning 20%;
        display: none;
    }
    QuorumClockLine.failed {
        background: $error 30%;
    }
    """

    def on_mount(self) -> None:
        self.show_state()
        self.set_interval(REFRESH_SECONDS, self.show_state)

    def show_state(self) -> None:
        clock = getattr(self.app, "escalation_clock", None)
        state = clock.state if clock is not None else None
        if state is None or not (state.open_requests or state.error):
            self.display = False
            return
        self.display = True
        self.set_class(state.error is not None, "failed")
        ran = f"escalation clock ran {state.ran_at.astimezone(LONDON):%H:%M:%S}" if state.ran_at else "clock starting"
        if state.error:
            self.update(f"[b]Escalation clock failed:[/b] {state.error} · retrying every few seconds")
            return
        ids = ", ".join(f"#{request_id}" for request_id in state.open_requests[:5])
        more = "…" if len(state.open_requests) > 5 else ""
        count = len(state.open_requests)
        self.update(f"[b]{count} quorum request{'s' if count != 1 else ''} open[/b] ({ids}{more}) · {ran} · w to view")
