"""The escalation clock runs in the dashboard whichever screen is open, and the board says so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from roster.models import Person
from roster.quorum import create_request
from roster.quorum.models import QuorumEvent
from tests.quorum.test_quorum_screen import SIZE, START, Clock, build_app, until
from tui.screens.roster_board import RosterBoardScreen
from tui.widgets.quorum_clock_line import QuorumClockLine


@pytest.fixture
def clock() -> Clock:
    return Clock()


def ask(app) -> int:
    with app.new_session() as session:
        sam = session.exec(select(Person).where(Person.name == "Sam Okafor")).one()
        return create_request(session, sam.id, need=1, now=START).id


def events(app, request_id: int) -> list[str]:
    with app.new_session() as session:
        return [e.text for e in session.exec(select(QuorumEvent).where(QuorumEvent.request_id == request_id))]


async def test_the_clock_escalates_while_only_the_roster_board_is_open(engine, db_url, clock):
    app = build_app(db_url, engine, clock)
    request_id = ask(app)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen.board is not None, "the board loaded")
        line = app.screen.query_one(QuorumClockLine)
        await until(pilot, lambda: line.display, "the board's quorum line")
        assert "1 quorum request open (#1)" in str(line.render())
        clock.now = START + timedelta(minutes=3, seconds=5)  # nobody answered: calls and a second wave are due
        await until(pilot, lambda: any(t.startswith("Wave 2") for t in events(app, request_id)), "a second wave",
                    tries=120)
        assert any(t.startswith("No reply after 3 min: calling") for t in events(app, request_id))
        assert isinstance(app.screen, RosterBoardScreen)  # no quorum screen was ever opened
        await until(pilot, lambda: "escalation clock ran 11:03:05" in str(line.render()), "when the clock ran")

        clock.now = START + timedelta(minutes=21)
        await until(pilot, lambda: not line.display, "the line gone once the request expired", tries=120)
        assert any(t.startswith("Not formed by the deadline") for t in events(app, request_id))


async def test_without_the_clock_nothing_moves_and_the_board_has_no_quorum_line(engine, db_url, clock):
    app = build_app(db_url, engine, clock, escalation_clock=False)
    request_id = ask(app)
    clock.now = START + timedelta(minutes=4)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen.board is not None, "the board loaded")
        await pilot.pause(0.3)
        assert not app.screen.query_one(QuorumClockLine).display
    assert not any(t.startswith("Wave 2") for t in events(app, request_id))
