"""``diveboat plan``, ``compliance`` and ``calendar`` end to end in real subprocesses."""

import json
import re
from datetime import date

import pytest
from sqlmodel import Session, select

from roster.db import make_engine, open_database, session_factory
from roster.demo import seed_demo
from roster.supervision.models import SupervisionSession
from roster.supervision.tokens import resolve_token
from tests.foundation.test_cli import diveboat, one_error_line, table_counts
from tests.supervision.calendar_checks import parse

YEAR = str(date.today().year + 1)
PUBLIC = {"DIVEBOAT_PUBLIC_URL": "https://diveboat.example.org/"}


@pytest.fixture
def demo_db(db_url):
    assert diveboat("--db", db_url, "demo", "--seed-only").returncode == 0
    return db_url


def ok(*args, env=None):
    result = diveboat(*args, env=env)
    assert result.returncode == 0, result.stderr
    return result


def test_generate_books_a_year_for_the_demo_and_is_idempotent(demo_db):
    first = ok("--db", demo_db, "plan", "generate", "--year", YEAR)
    assert "22 agreements and groups" in first.stdout  # the demo seeds its own agreements
    booked = int(re.search(r"(\d+) sessions booked", first.stdout).group(1))
    assert booked > 150
    counts = table_counts(demo_db)

    again = ok("--db", demo_db, "plan", "generate", "--year", YEAR)

    assert f"0 sessions booked, {booked} already in the plan" in again.stdout
    assert table_counts(demo_db) == counts


def test_region_is_remembered_and_bad_input_is_one_line(demo_db, db_url):
    assert "scotland bank holidays" in ok("--db", demo_db, "plan", "generate", "--year", YEAR, "--region", "Scotland").stdout
    assert "scotland bank holidays" in ok("--db", demo_db, "plan", "generate", "--year", YEAR).stdout
    assert "unknown holiday region 'wales'" in one_error_line(diveboat("--db", demo_db, "plan", "generate", "--year", YEAR, "--region", "wales"))
    assert "no team called 'West'" in one_error_line(diveboat("--db", demo_db, "plan", "generate", "--year", YEAR, "--team", "West"))
    assert "nobody on the roster is called 'Zed'" in one_error_line(diveboat("--db", demo_db, "plan", "show", "Zed"))


def test_generate_on_an_empty_roster_says_what_to_do(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert "no supervision agreements or groups to plan" in one_error_line(diveboat("--db", url, "plan", "generate", "--year", YEAR))


def test_show_and_compliance_print_stable_json(demo_db):
    ok("--db", demo_db, "plan", "generate", "--year", YEAR)
    shown = json.loads(ok("--db", demo_db, "plan", "show", "Taylor Brooks", "--year", YEAR, "--json").stdout)
    assert list(shown) == ["from", "to", "name", "series", "sessions", "case_reviews"]
    assert shown["name"] == "Taylor Brooks" and len(shown["sessions"]) > 12
    assert list(shown["sessions"][0]) == ["id", "uid", "title", "starts_at", "ends_at", "local_start", "venue",
                                          "status", "sequence", "rebook_of", "rebooked", "people"]
    report = json.loads(ok("--db", demo_db, "compliance", "--json", "--on", f"{YEAR}-12-31").stdout)
    assert list(report) == ["as_of", "breaches", "items", "by_person", "by_team"]
    assert {item["kind"] for item in report["items"]} >= {"record_missing", "case_review_overdue"}
    assert all(list(item) == ["kind", "person", "person_id", "teams", "subject", "due_on", "days_late", "breach",
                              "detail", "session_id"] for item in report["items"])
    text = ok("--db", demo_db, "compliance", "--team", "north outreach").stdout
    assert text.startswith("Compliance on ")


def test_export_writes_a_calendar_that_reads_back(demo_db, tmp_path):
    ok("--db", demo_db, "plan", "generate", "--year", YEAR)
    target = tmp_path / "taylor.ics"

    ok("--db", demo_db, "calendar", "export", "--person", "Taylor Brooks", "--year", YEAR, "-o", str(target))

    calendar = parse(target.read_bytes())
    engine = make_engine(demo_db)
    with Session(engine) as session:
        uids = {e.uid.value for e in calendar.vevent_list}
        rows = session.exec(select(SupervisionSession).where(SupervisionSession.uid.in_(uids))).all()
    engine.dispose()
    assert len(rows) == len(uids) > 12
    assert {e.summary.value for e in calendar.vevent_list} == {
        "Supervision: Morgan / Taylor",
        "Reflective group supervision: North reflective group",
        "Team meeting: North team meeting",
        "Think Family consultation: All lead professionals",
    }
    assert "give either --person NAME or --team TEAM" in one_error_line(
        diveboat("--db", demo_db, "calendar", "export", "--person", "Taylor", "--team", "North Outreach", "-o", str(target)))
    missing = tmp_path / "no" / "such" / "plan.ics"
    assert "does not exist" in one_error_line(diveboat("--db", demo_db, "calendar", "export", "--team", "North Outreach", "-o", str(missing)))
    assert not missing.exists()


def test_feed_urls_need_a_public_url_are_shown_once_and_rotate(demo_db):
    assert "set DIVEBOAT_PUBLIC_URL" in one_error_line(diveboat("--db", demo_db, "calendar", "feed-url", "Taylor"))
    first = ok("--db", demo_db, "calendar", "feed-url", "Taylor", env=PUBLIC).stdout.strip()
    assert re.fullmatch(r"https://diveboat\.example\.org/calendar/[A-Za-z0-9_-]{43}\.ics", first)
    assert "use --rotate" in one_error_line(diveboat("--db", demo_db, "calendar", "feed-url", "Taylor", env=PUBLIC))
    second = ok("--db", demo_db, "calendar", "feed-url", "Taylor", "--rotate", env=PUBLIC).stdout.strip()
    team = ok("--db", demo_db, "calendar", "feed-url", "--team", "North Outreach", env=PUBLIC).stdout.strip()

    engine = make_engine(demo_db)
    with Session(engine) as session:
        token = lambda url: url.rsplit("/", 1)[1].removesuffix(".ics")  # noqa: E731
        assert resolve_token(session, token(first)) is None
        assert resolve_token(session, token(second)).person_id is not None
        assert resolve_token(session, token(team)).team_id is not None
    engine.dispose()


def test_postpone_rebook_and_cancel_from_the_command_line(demo_db, tmp_path):
    ok("--db", demo_db, "plan", "generate", "--year", YEAR)
    sessions = json.loads(ok("--db", demo_db, "plan", "show", "Sam Okafor", "--year", YEAR, "--json").stdout)["sessions"]
    first, second = sessions[0]["id"], sessions[1]["id"]

    postponed = ok("--db", demo_db, "plan", "postpone", str(first), "--reason", "court").stdout
    assert "Proposed slot: " in postponed and f"diveboat plan rebook {first}" in postponed
    assert "Rebooked as session" in ok("--db", demo_db, "plan", "rebook", str(first)).stdout
    target = tmp_path / "cancel.ics"
    ok("--db", demo_db, "plan", "cancel", str(second), "--reason", "ill", "-o", str(target))
    cancellation = parse(target.read_bytes())
    assert cancellation.method.value == "CANCEL" and cancellation.vevent.status.value == "CANCELLED"
    assert "give a reason" in one_error_line(diveboat("--db", demo_db, "plan", "postpone", str(sessions[2]["id"]), "--reason", " "))
    assert "only a booked session can be postponed" in one_error_line(
        diveboat("--db", demo_db, "plan", "postpone", str(second), "--reason", "again"))


def test_generate_creates_default_agreements_from_line_managers(db_url):
    engine = open_database(db_url)
    with session_factory(engine)() as session:
        seed_demo(session)  # people only: no supervision agreements yet
    engine.dispose()
    first = ok("--db", db_url, "plan", "generate", "--year", YEAR)
    assert "Created 14 default agreements from line managers." in first.stdout
