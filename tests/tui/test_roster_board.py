"""Pilot and snapshot tests for the roster board."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from roster.availability import set_status
from roster.models import AvailabilityWindow, Person, Role, Status
from roster.timeutil import LONDON
from roster.settings import Settings
from tests.tui.conftest import NOW, fixed_clock
from tui.app import create_app
from tui.screens.roster_board import RosterBoardScreen
from tui.screens.status_form import StatusForm
from tui.widgets.roster_table import FIRST_ROWS, RosterTable

SIZE = (130, 36)


async def wait_for_board(pilot, screen: RosterBoardScreen) -> None:
    for _ in range(100):
        if screen.board is not None:
            return
        await pilot.pause(0.05)
    raise AssertionError("the board never loaded")


def status_cell(table: RosterTable, person_id: int) -> str:
    return table.get_cell(str(person_id), "status").plain.strip()


def person_named(app, name: str) -> Person:
    with app.new_session() as session:
        return session.exec(select(Person).where(Person.name == name)).one()


async def test_board_lists_everyone_active_with_status_words(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        screen = demo_app.screen
        await wait_for_board(pilot, screen)
        table = screen.query_one(RosterTable)
        assert table.row_count == 23
        jamie = person_named(demo_app, "Jamie Patel")
        assert status_cell(table, jamie.id) == "sick"
        assert status_cell(table, person_named(demo_app, "Sam Okafor").id) == "on duty"
        assert "Dive Boat" in demo_app.title
        assert "Wed 10 Mar 2027" in screen.sub_title


async def test_filters_by_role_and_team(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        screen = demo_app.screen
        await wait_for_board(pilot, screen)
        screen._set_filter("#role-filter", Role.METATEAM.value)
        await pilot.pause()
        assert screen.query_one(RosterTable).row_count == 4
        screen._set_filter("#role-filter", "all")
        screen._set_filter("#team-filter", "South Outreach")
        await pilot.pause()
        names = {e.name for e in screen.visible_entries()}
        assert "Casey Lloyd" in names and "Sam Okafor" not in names


async def test_mark_in_field_until_a_time_writes_at_once(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        screen = demo_app.screen
        await wait_for_board(pilot, screen)
        table = screen.query_one(RosterTable)
        casey = person_named(demo_app, "Casey Lloyd")
        table.move_cursor(row=table.get_row_index(str(casey.id)))
        await pilot.press("f")
        assert isinstance(demo_app.screen, StatusForm)
        await pilot.press(*"15:00", "enter")
        await demo_app.workers.wait_for_complete()
        await pilot.pause(0.2)
        with demo_app.new_session() as session:
            window = session.exec(select(AvailabilityWindow).where(AvailabilityWindow.person_id == casey.id)).one()
        assert window.status == Status.IN_FIELD
        assert window.ends_at.astimezone(LONDON).strftime("%H:%M") == "15:00"
        await demo_app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert status_cell(table, casey.id) == "in field"


async def test_bad_until_is_explained_and_nothing_is_written(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        screen = demo_app.screen
        await wait_for_board(pilot, screen)
        await pilot.press("x")
        form = demo_app.screen
        form.query_one("#until").value = "half past never"
        await pilot.press("enter")
        await pilot.pause()
        assert demo_app.screen is form
        assert "is not a time" in str(form.query_one("#form-error").render())
        await pilot.press("escape")
        assert isinstance(demo_app.screen, RosterBoardScreen)
        with demo_app.new_session() as session:
            assert len(session.exec(select(AvailabilityWindow)).all()) == 4  # the demo's own


async def test_change_by_another_process_appears_within_two_seconds(demo_app, db_url):
    from roster.db import make_engine, session_factory

    async with demo_app.run_test(size=SIZE) as pilot:
        screen = demo_app.screen
        await wait_for_board(pilot, screen)
        table = screen.query_one(RosterTable)
        sam = person_named(demo_app, "Sam Okafor")
        other = make_engine(db_url)  # a separate engine stands in for another process
        with session_factory(other)() as session:
            set_status(session, sam.id, Status.LEAVE, NOW + timedelta(days=3), starts_at=NOW - timedelta(minutes=1))
        other.dispose()
        for _ in range(20):
            await pilot.pause(0.1)
            if status_cell(table, sam.id) == "leave":
                break
        assert status_cell(table, sam.id) == "leave"


async def test_an_unchanged_board_is_checked_each_second_but_not_read_again(demo_engine, db_url):
    app = create_app(Settings(db=db_url, refresh_seconds=0.2), demo_engine, clock=fixed_clock, escalation_clock=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for_board(pilot, screen)
        await pilot.pause(1.0)  # five checks
        assert screen.reader.reads == 1
        await pilot.press("ctrl+r")  # asked for: read again
        for _ in range(40):
            if screen.reader.reads == 2:
                break
            await pilot.pause(0.05)
        assert screen.reader.reads == 2
        assert "reachable now" in str(screen.query_one("#board-status").render())


async def test_command_palette_offers_board_actions(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await wait_for_board(pilot, demo_app.screen)
        titles = [command.title for command in demo_app.screen.palette_commands()]
        assert "Mark selected person sick today" in titles
        assert "Show team: North Outreach" in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"sick today")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(demo_app.screen, StatusForm)


async def test_ctrl_q_quits(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+q")
        await asyncio.sleep(0)
    assert demo_app.return_code == 0


def test_snapshot_board(snap_compare, snapshot_app):
    async def loaded(pilot):
        await wait_for_board(pilot, snapshot_app.screen)
        await pilot.pause(0.1)

    assert snap_compare(snapshot_app, terminal_size=SIZE, run_before=loaded)


def test_snapshot_metateam_filter(snap_compare, snapshot_app):
    async def filtered(pilot):
        await wait_for_board(pilot, snapshot_app.screen)
        snapshot_app.screen._set_filter("#role-filter", Role.METATEAM.value)
        await pilot.pause(0.1)

    assert snap_compare(snapshot_app, terminal_size=SIZE, run_before=filtered)


def test_snapshot_status_form_with_error(snap_compare, snapshot_app):
    async def form(pilot):
        await wait_for_board(pilot, snapshot_app.screen)
        await pilot.press("down", "f", *"nonsense", "enter")
        await pilot.pause(0.1)

    assert snap_compare(snapshot_app, terminal_size=SIZE, run_before=form)


async def test_a_long_roster_paints_its_first_screen_then_fills_in_and_keeps_the_cursor(demo_engine, db_url):
    with demo_engine.begin() as connection:  # 500 more keyworkers, "Worker 0000" to "Worker 0499"
        connection.execute(sa.insert(Person.__table__), [
            {"name": f"Worker {i:04d}", "phone": f"+441134960{i:03d}", "role": "keyworker",
             "employment": "full_time", "practice_stage": "qualified", "active": True, "sms_opt_out": False}
            for i in range(500)
        ])
    app = create_app(Settings(db=db_url), demo_engine, clock=fixed_clock, escalation_clock=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_for_board(pilot, screen)
        table = screen.query_one(RosterTable)
        for _ in range(100):
            if table.complete:
                break
            await pilot.pause(0.05)
        assert table.row_count == 523 > FIRST_ROWS
        worker = person_named(app, "Worker 0450")
        table.move_cursor(row=table.get_row_index(str(worker.id)))
        screen._set_filter("#role-filter", Role.KEYWORKER.value)  # fewer rows: the table is rebuilt
        for _ in range(100):
            if table.row_count < 523 and table.complete:
                break
            await pilot.pause(0.05)
        assert table.get_row_index(str(worker.id)) > FIRST_ROWS  # added in a later chunk...
        assert table.selected_id == worker.id  # ...and the cursor went back to it
