"""Pilot and snapshot tests for the supervision and compliance screens (fixed clock)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlmodel import select

from roster.db import open_database, session_factory
from roster.demo import seed_demo
from roster.models import Person
from roster.settings import Settings
from roster.supervision.demo import seed_demo_agreements
from roster.supervision.models import SupervisionSession
from roster.timeutil import LONDON
from tui.app import create_app
from tui.screens.compliance import ComplianceScreen
from tui.screens.supervision import SupervisionScreen
from tui.screens.supervision_forms import ReasonForm, RebookForm
from tui.widgets.compliance_table import ComplianceTable
from tui.widgets.roster_table import RosterTable
from tui.widgets.session_table import SessionTable

NOW = datetime(2027, 3, 10, 11, 0, tzinfo=timezone.utc)  # Wednesday 10 March 2027
SIZE = (150, 42)


def fixed_clock() -> datetime:
    return NOW


def seeded(engine) -> None:
    with session_factory(engine)() as session:
        seed_demo(session, NOW)
        seed_demo_agreements(session, NOW)


@pytest.fixture
def app(engine, db_url):
    seeded(engine)
    return create_app(Settings(db=db_url), engine, clock=fixed_clock)


@pytest.fixture
def snapshot_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'snapshot.db'}"
    engine = open_database(url)
    seeded(engine)
    yield create_app(Settings(db=url), engine, clock=fixed_clock)
    engine.dispose()


def person_id(app, name: str) -> int:
    with app.new_session() as session:
        return session.exec(select(Person.id).where(Person.name == name)).one()


async def until(pilot, condition, what: str):
    for _ in range(150):
        value = condition()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def plan_of(pilot, app, name: str) -> SupervisionScreen:
    """Open the supervision screen from the roster board with ``name`` selected."""
    await until(pilot, lambda: getattr(app.screen, "board", None), "the roster board")
    table = app.screen.query_one(RosterTable)
    table.move_cursor(row=table.get_row_index(str(person_id(app, name))))
    await pilot.press("s")
    screen = await until(pilot, lambda: isinstance(app.screen, SupervisionScreen) and app.screen, "the supervision screen")
    await until(pilot, lambda: screen.view is not None and screen.view.plan.name == name, f"{name}'s plan")
    return screen


async def test_s_opens_the_selected_persons_year_with_next_sessions(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await plan_of(pilot, app, "Taylor Brooks")
        assert screen.year == 2027
        upcoming = screen.next_sessions()
        assert upcoming and all(s.local_start.date() >= NOW.date() or s.needs_rebooking for s in upcoming)
        assert screen.query_one(SessionTable).row_count == len(upcoming)
        grid = str(screen.query_one("#year-grid").render())
        assert "March 2027" in grid and "December 2027" in grid
        await until(pilot, lambda: "If postponed, the first slot free for everyone" in str(
            screen.query_one("#session-detail").render()), "the proposed slot")
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: screen.year == 2028 and screen.view.year == 2028, "2028")
        await pilot.press("escape")
        assert not isinstance(app.screen, SupervisionScreen)


async def test_postpone_shows_the_proposal_and_rebook_books_it(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await plan_of(pilot, app, "Sam Okafor")
        table = screen.query_one(SessionTable)
        first = next(s for s in screen.next_sessions() if s.status == "booked" and not s.is_group)
        table.move_cursor(row=table.get_row_index(str(first.id)))
        await pilot.press("p")
        assert isinstance(app.screen, ReasonForm)
        await pilot.press(*"called to court", "enter")
        await until(pilot, lambda: any(s.id == first.id and s.needs_rebooking for s in screen.view.plan.sessions),
                    "the postponement")
        with app.new_session() as session:
            assert session.get(SupervisionSession, first.id).reason == "called to court"
        table.move_cursor(row=table.get_row_index(str(first.id)))
        await until(pilot, lambda: "Proposed slot:" in str(screen.query_one("#session-detail").render()), "proposal")
        await pilot.press("b")
        form = await until(pilot, lambda: isinstance(app.screen, RebookForm) and app.screen, "the rebook form")
        proposed = form.proposed
        assert proposed is not None and proposed.astimezone(LONDON).date() > first.local_start.date()
        await pilot.press("enter")
        await until(pilot, lambda: any(s.rebook_of_id == first.id for s in screen.view.plan.sessions), "the rebooking")
        with app.new_session() as session:
            again = session.exec(select(SupervisionSession).where(SupervisionSession.rebook_of_id == first.id)).one()
        assert again.starts_at == proposed


async def test_cancel_needs_a_reason_and_keeps_the_session_as_cancelled(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await plan_of(pilot, app, "Casey Lloyd")
        table = screen.query_one(SessionTable)
        target = screen.next_sessions()[0]
        table.move_cursor(row=table.get_row_index(str(target.id)))
        await pilot.press("c")
        form = app.screen
        await pilot.press("enter")
        assert app.screen is form and "give a reason" in str(form.query_one(".form-error").render())
        await pilot.press(*"room flooded", "enter")
        await until(pilot, lambda: any(s.id == target.id and s.status == "cancelled" for s in screen.view.plan.sessions),
                    "the cancellation")


async def test_compliance_lists_breaches_by_urgency_and_enter_jumps_to_the_person(app):
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: getattr(app.screen, "board", None), "the roster board")
        await pilot.press("k")
        screen = await until(pilot, lambda: isinstance(app.screen, ComplianceScreen) and app.screen, "compliance")
        await until(pilot, lambda: screen.report is not None, "the report")
        items = screen.visible_items()
        breaches = [i for i in items if i.breach]
        assert [i.days_late for i in breaches] == sorted((i.days_late for i in breaches), reverse=True)
        assert (items[0].kind, items[0].person, items[0].subject) == ("case_review_overdue", "Jamie Patel", "C-1051")
        assert {i.kind for i in items} >= {"overdue", "record_missing", "not_reconvened"}
        assert screen.query_one(ComplianceTable).row_count == len(items)
        await pilot.press("enter")
        plan = await until(pilot, lambda: isinstance(app.screen, SupervisionScreen) and app.screen, "the person")
        await until(pilot, lambda: plan.view is not None, "the plan")
        assert plan.view.plan.name == "Jamie Patel"


async def test_command_palette_reaches_both_screens(app):
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: getattr(app.screen, "board", None), "the roster board")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Supervision plan" in titles and "Compliance" in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Compliance")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ComplianceScreen), "compliance from the palette")


def test_snapshot_supervision_year(snap_compare, snapshot_app):
    async def opened(pilot):
        await plan_of(pilot, snapshot_app, "Taylor Brooks")
        screen = snapshot_app.screen
        await until(pilot, lambda: "first slot free" in str(screen.query_one("#session-detail").render()), "proposal")

    assert snap_compare(snapshot_app, terminal_size=SIZE, run_before=opened)


def test_snapshot_rebook_form(snap_compare, snapshot_app):
    async def rebooking(pilot):
        screen = await plan_of(pilot, snapshot_app, "Jo Campbell")  # the demo's postponed session
        waiting = next(s for s in screen.next_sessions() if s.needs_rebooking)
        table = screen.query_one(SessionTable)
        table.move_cursor(row=table.get_row_index(str(waiting.id)))
        await until(pilot, lambda: "Proposed slot:" in str(screen.query_one("#session-detail").render()), "proposal")
        await pilot.press("b")
        await until(pilot, lambda: isinstance(snapshot_app.screen, RebookForm), "the rebook form")
        await pilot.pause(0.1)

    assert snap_compare(snapshot_app, terminal_size=SIZE, run_before=rebooking)


def test_snapshot_compliance(snap_compare, snapshot_app):
    async def opened(pilot):
        await until(pilot, lambda: getattr(snapshot_app.screen, "board", None), "the roster board")
        await pilot.press("k")
        await until(pilot, lambda: isinstance(snapshot_app.screen, ComplianceScreen)
                    and snapshot_app.screen.report is not None, "compliance")
        await pilot.pause(0.1)

    assert snap_compare(snapshot_app, terminal_size=SIZE, run_before=opened)
