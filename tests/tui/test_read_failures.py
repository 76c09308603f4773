"""A screen whose read fails (the database went away) keeps the dashboard running, says so once,
and reads again on its next refresh."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import roster.supervision.compliance as compliance
import tui.screens.quorum as quorum_screen
import tui.screens.supervision as supervision_screen
from roster.settings import Settings
from tests.tui.conftest import fixed_clock
from tui.app import create_app
from tui.screens.compliance import ComplianceScreen
from tui.screens.quorum import QuorumScreen
from tui.screens.supervision import SupervisionScreen

SIZE = (130, 36)


def gone(*_args, **_kwargs):
    raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


def notices(app) -> list[str]:
    return [notification.message for notification in app._notifications]


async def until(pilot, condition, what: str) -> None:
    for _ in range(100):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never happened: {what}")


@pytest.mark.parametrize(("key", "screen_class", "module", "read", "what", "read_again"), [
    ("k", ComplianceScreen, compliance, "compliance_report", "the compliance report", "ctrl+r"),
    ("s", SupervisionScreen, supervision_screen, "plan_subjects", "the supervision plan", "right_square_bracket"),
    ("w", QuorumScreen, quorum_screen, "request_ids", "the request", "ctrl+r"),
], ids=["compliance", "supervision", "quorum"])
async def test_a_read_that_fails_is_reported_and_tried_again(demo_engine, db_url, monkeypatch, key, screen_class,
                                                             module, read, what, read_again):
    app = create_app(Settings(db=db_url, refresh_seconds=0.2), demo_engine, clock=fixed_clock, escalation_clock=False)
    monkeypatch.setattr(module, read, gone)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        await pilot.press(key)
        await until(pilot, lambda: isinstance(app.screen, screen_class), f"{key} opens {screen_class.__name__}")
        await until(pilot, lambda: any(f"Could not read {what}" in n for n in notices(app)), "a notice")
        await pilot.pause(0.6)  # more failed refreshes: still one notice, still running
        assert app.is_running and isinstance(app.screen, screen_class)
        assert sum(f"Could not read {what}" in n for n in notices(app)) == 1
        monkeypatch.undo()  # the database is back
        await pilot.press(read_again)
        await until(pilot, lambda: "Reading the database again." in notices(app), "reading again")


async def test_a_status_that_cannot_be_written_says_not_saved_and_the_dashboard_stays(demo_app, monkeypatch):
    import tui.screens.roster_board as board_screen

    monkeypatch.setattr(board_screen, "set_status", gone)
    async with demo_app.run_test(size=SIZE) as pilot:
        screen = demo_app.screen
        await until(pilot, lambda: screen.board is not None, "the board")
        await pilot.press("x")  # sick today: the form opens with the status chosen
        await pilot.pause(0.2)
        await pilot.press("enter")
        await until(pilot, lambda: any(n.startswith("Not saved: database:") for n in notices(demo_app)), "a notice")
        assert demo_app.is_running
