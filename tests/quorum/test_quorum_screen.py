"""The quorum screen, driven by Pilot on the demo service in outbox mode, plus snapshots."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select
from textual.widgets import Checkbox, Input

from roster.db import make_engine, open_database, session_factory
from roster.demo import seed_demo
from roster.models import Person
from roster.quorum import create_request, record_sms_reply
from roster.quorum.models import OutboundMessage, QuorumRequest
from roster.settings import Settings
from tui.app import create_app
from tui.screens.quorum import QuorumScreen
from tui.screens.quorum_forms import QuorumReplyForm, QuorumRequestForm
from tui.screens.roster_board import RosterBoardScreen
from tui.widgets.roster_table import RosterTable

#: Wednesday 10 March 2027, 11:00 in London: most of the demo service is on shift.
START = datetime(2027, 3, 10, 11, 0, tzinfo=timezone.utc)
SIZE = (130, 40)


class Clock:
    """The dashboard's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def build_app(url: str, engine, clock: Clock, *, escalation_clock: bool = True):
    with session_factory(engine)() as session:
        seed_demo(session, START)
    return create_app(Settings(db=url), engine, clock=clock, escalation_clock=escalation_clock)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(engine, db_url, clock):
    return build_app(db_url, engine, clock)


@pytest.fixture
def snapshot_app(tmp_path, clock):
    """On a SQLite file, with the escalation clock stopped: a snapshot shows the seeded moment."""
    url = f"sqlite:///{tmp_path / 'snapshot.db'}"
    engine = open_database(url)
    yield build_app(url, engine, clock, escalation_clock=False)
    engine.dispose()


async def until(pilot, condition, what: str, tries: int = 60):
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never happened: {what}")


def person(app, name: str) -> Person:
    with app.new_session() as session:
        return session.exec(select(Person).where(Person.name == name)).one()


def states(screen: QuorumScreen) -> dict[str, str]:
    return {i.name: i.state for i in screen.view.invitees} if screen.view else {}


async def start_request(pilot, app, name: str, *keys: str) -> QuorumScreen:
    """Select ``name`` on the board, press q, fill the form with ``keys``, send; returns the quorum screen."""
    board = app.screen
    await until(pilot, lambda: board.board is not None, "the board loaded")
    table = board.query_one(RosterTable)
    table.move_cursor(row=table.get_row_index(str(person(app, name).id)))
    await pilot.press("q")
    assert isinstance(app.screen, QuorumRequestForm)
    await pilot.press(*keys, "enter")
    await until(pilot, lambda: isinstance(app.screen, QuorumScreen) and app.screen.view is not None, "the quorum screen")
    return app.screen


async def test_request_from_the_board_then_replies_typed_in_the_dashboard_form_it(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_request(pilot, app, "Sam Okafor")
        assert screen.view.state == "open" and len(screen.view.invitees) == 3
        assert set(states(screen).values()) == {"sent"}  # in the outbox, passed on by hand
        assert screen.query_one("#quorum-outbox-box").display
        assert "20:00 left" in str(screen.query_one("#quorum-summary").render())

        for row, answer in ((0, "1"), (1, "2"), (2, "1")):
            invitees = screen.query_one("#quorum-invitees")
            invitees.focus()
            invitees.move_cursor(row=row)
            await pilot.press("r")
            assert isinstance(app.screen, QuorumReplyForm)
            await pilot.press(answer, "enter")
            name = screen.view.invitees[row].name
            await until(pilot, lambda: states(screen)[name] in ("joined", "declined"), f"{name} answered")

        assert screen.view.state == "formed"
        card = screen.query_one("#thinking-together")
        assert card.display and "Mentalize the moment" in str(card.query_one("#thinking-steps").render())
        card.query_one("#next-step").focus()
        await pilot.press(*"Sam rings the school", "enter")
        await until(pilot, lambda: screen.view.next_step == "Sam rings the school", "the next step saved")
        await pilot.press("escape")
        assert isinstance(app.screen, RosterBoardScreen)


async def test_a_reply_recorded_elsewhere_shows_live_and_the_clock_escalates(app, db_url, clock):
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_request(pilot, app, "Sam Okafor", "backspace", "1")  # need 1: a wave of 2
        first = screen.view.invitees[0]
        other = make_engine(db_url)  # another process (the webhook server) records an SMS reply
        with session_factory(other)() as session:
            record_sms_reply(session, from_phone=first.phone, body="huh?", provider_sid="SMelsewhere", received_at=START)
        other.dispose()
        await until(pilot, lambda: screen.view.unparsed, "the unparsed reply shown")
        assert screen.query_one("#quorum-unparsed").display

        clock.now = START + timedelta(minutes=3)  # nobody answered: the dashboard's clock calls and widens
        await until(pilot, lambda: len(screen.view.invitees) > 2, "a second wave", tries=120)
        steps = [e["text"] for e in screen.view.events]
        assert any(text.startswith("No reply after 3 min: calling") for text in steps)
        assert any(text.startswith("Wave 2") for text in steps)

        clock.now = START + timedelta(minutes=21)
        await until(pilot, lambda: screen.view.state == "expired", "expiry", tries=120)
        assert "NOT FORMED" in str(screen.query_one("#quorum-summary").render())


async def test_the_urgent_box_asks_a_wider_first_wave_and_the_screen_says_urgent(app):
    async with app.run_test(size=SIZE) as pilot:
        board = app.screen
        await until(pilot, lambda: board.board is not None, "the board loaded")
        table = board.query_one(RosterTable)
        table.move_cursor(row=table.get_row_index(str(person(app, "Sam Okafor").id)))
        await pilot.press("q")
        form = app.screen
        await pilot.press(*["tab"] * 5, "space")  # need, MetaTeam, case, skills, reason, then the box
        assert form.query_one("#urgent", Checkbox).value
        await pilot.click("#send")
        await until(pilot, lambda: isinstance(app.screen, QuorumScreen) and app.screen.view is not None,
                    "the quorum screen")
        screen = app.screen
        assert screen.view.urgent and len(screen.view.invitees) == 2 + 4
        assert "urgent" in str(screen.query_one("#quorum-summary").render())
        assert screen.view.events[0]["text"] == "Urgent: requested by Sam: 2 needed"


async def test_form_explains_what_to_fix(app):
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen.board is not None, "the board loaded")
        await pilot.press("q")
        form = app.screen
        form.query_one("#case").value = "C-9999"
        await pilot.press("enter")
        await until(pilot, lambda: "no case with reference" in str(form.query_one("#form-error").render()), "the error")
        assert app.screen is form
        await pilot.press("escape")
        with app.new_session() as session:
            assert session.exec(select(QuorumRequest)).all() == []


async def test_w_opens_the_latest_request_and_cancel_works(app):
    with app.new_session() as session:
        sam = session.exec(select(Person).where(Person.name == "Sam Okafor")).one()
        create_request(session, sam.id, now=START)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen.board is not None, "the board loaded")
        await pilot.press("w")
        screen = app.screen
        await until(pilot, lambda: screen.view is not None, "the request shown")
        await pilot.press("x")
        await until(pilot, lambda: screen.view.state == "cancelled", "cancelled")


def seed_request(app, clock: Clock, *replies: tuple[int, str]) -> None:
    """Sam's request for case C-1042, sent to the outbox; ``replies`` (invitee index, text) a minute apart."""
    from notify.dispatch import deliver_pending

    with app.new_session() as session:
        sam = session.exec(select(Person).where(Person.name == "Sam Okafor")).one()
        create_request(session, sam.id, case_reference="C-1042", skills=["self-harm"], now=START)
    deliver_pending(app.settings, app.new_session, now=START)
    with app.new_session() as session:
        phones = [m.to_phone for m in sorted(session.exec(select(OutboundMessage)), key=lambda m: m.id)]
        for minute, (index, text) in enumerate(replies, start=1):
            record_sms_reply(session, from_phone=phones[index], body=text, provider_sid=f"SM{minute}",
                             received_at=START + timedelta(minutes=minute))
    clock.now = START + timedelta(minutes=len(replies) + 1)
    deliver_pending(app.settings, app.new_session, now=clock.now)


async def show_latest(pilot):
    await until(pilot, lambda: getattr(pilot.app.screen, "board", None) is not None, "the board loaded")
    await pilot.press("w")
    await until(pilot, lambda: pilot.app.screen.view is not None, "the request shown")
    await pilot.pause(0.1)


def test_snapshot_open_request_in_outbox_mode(snap_compare, snapshot_app, clock):
    seed_request(snapshot_app, clock, (0, "1"), (1, "on my way?"))
    assert snap_compare(snapshot_app, terminal_size=SIZE, run_before=show_latest)


def test_snapshot_formed_quorum_with_thinking_together(snap_compare, snapshot_app, clock):
    seed_request(snapshot_app, clock, (0, "1"), (1, "2"), (2, "join"))
    assert snap_compare(snapshot_app, terminal_size=SIZE, run_before=show_latest)


def test_snapshot_request_form(snap_compare, snapshot_app):
    async def form(pilot):
        await until(pilot, lambda: pilot.app.screen.board is not None, "the board loaded")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(pilot.app.screen, QuorumRequestForm), "the form")
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # a steady cursor, so the snapshot does not depend on the blink
        await pilot.pause(0.5)  # the board's footer, seen behind the form, settles on the form's keys

    assert snap_compare(snapshot_app, terminal_size=SIZE, run_before=form)
