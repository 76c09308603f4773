"""The ``diveboat`` command line, end to end in real subprocesses.

Setup and checks use the library in-process where the CLI is not what is being tested;
independent error cases run their subprocesses side by side to keep the suite quick.
"""

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from roster.db import make_engine, open_database, session_factory
from roster.demo import seed_demo
from roster.people import CSV_COLUMNS, import_csv, person_records
from roster.schema import metadata
from roster.timeutil import UTC

SCRIPT = Path(sys.executable).with_name("diveboat")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-c", "from tui.cli import main; main()"]
HEADER = ",".join(CSV_COLUMNS)
SEED_TIME = datetime(2027, 3, 22, 12, 0, tzinfo=UTC)


def run_all(*commands: list[str], env: dict[str, str] | None = None, cwd: Path | None = None):
    """Run several ``diveboat`` command lines side by side; returns their CompletedProcess in order."""
    environment = {**os.environ, **(env or {})}
    processes = [
        subprocess.Popen(
            [*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment, cwd=cwd
        )
        for args in commands
    ]
    results = []
    for args, process in zip(commands, processes):
        stdout, stderr = process.communicate(timeout=180)
        assert "Traceback" not in stderr, stderr
        results.append(subprocess.CompletedProcess([*COMMAND, *args], process.returncode, stdout, stderr))
    return results


def diveboat(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``diveboat ARGS`` with the test's (already isolated) environment plus ``env``."""
    return run_all(list(args), env=env, cwd=cwd)[0]


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("diveboat: "), lines[0]
    return lines[0]


def table_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                t.name: connection.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def records(url: str) -> list[dict]:
    engine = open_database(url)
    try:
        with session_factory(engine)() as session:
            return person_records(session)
    finally:
        engine.dispose()


def seed(url: str, csv_text: str | None = None) -> None:
    """Seed the demo service (or import ``csv_text``) in-process."""
    engine = open_database(url)
    try:
        with session_factory(engine)() as session:
            if csv_text is None:
                seed_demo(session, now=SEED_TIME)
            else:
                assert import_csv(session, csv_text).ok
    finally:
        engine.dispose()


def test_demo_seed_only_twice_changes_nothing(db_url):
    first = diveboat("--db", db_url, "demo", "--seed-only")
    assert first.returncode == 0, first.stderr
    assert "Seeded the demo service" in first.stderr
    counts = table_counts(db_url)
    assert counts["person"] == 23 and counts["case"] == 10

    second = diveboat("--db", db_url, "demo", "--seed-only")
    assert second.returncode == 0, second.stderr
    assert "nothing was seeded" in second.stderr
    assert table_counts(db_url) == counts


def test_db_option_and_environment_variable_choose_the_database(db_url, tmp_path):
    other = f"sqlite:///{tmp_path / 'other.db'}"
    seeded = diveboat("demo", "--seed-only", env={"DIVEBOAT_DB": db_url})
    assert seeded.returncode == 0, seeded.stderr
    assert table_counts(db_url)["person"] == 23
    listed = diveboat("--db", other, "people", "list", "--json", env={"DIVEBOAT_DB": db_url})
    assert json.loads(listed.stdout) == []  # --db wins over DIVEBOAT_DB


def test_people_list_json_is_a_list_with_plain_field_names(db_url):
    seed(db_url)
    as_json, as_text = run_all(["--db", db_url, "people", "list", "--json"], ["--db", db_url, "people", "list"])
    people = json.loads(as_json.stdout)
    assert isinstance(people, list) and len(people) == 23
    assert all(list(person) == CSV_COLUMNS for person in people)
    sam = next(p for p in people if p["name"] == "Sam Okafor")
    assert sam["phone"].startswith("+447700900") and sam["role"] == "keyworker"
    assert sam["teams"] == ["North Outreach"] and sam["active"] is True and sam["line_manager"] == "Morgan Ellis"
    lines = as_text.stdout.splitlines()
    assert len(lines) == 23
    assert any(line.startswith("Sam Okafor") and "07700 900" in line for line in lines)


def test_available_at_json_is_an_object_keyed_by_role(db_url):
    seed(db_url)
    as_json, sunday = run_all(
        ["--db", db_url, "available", "--at", "2027-03-29T10:00", "--json"],
        ["--db", db_url, "available", "--at", "2027-03-28T10:00"],
    )
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["at"] == "2027-03-29T09:00:00+00:00"  # 10:00 in London is 09:00 UTC in summer
    assert set(data["available"]) <= {"keyworker", "metateam", "expert_by_experience", "manager"}
    keyworkers = {entry["name"]: entry for entry in data["available"]["keyworker"]}
    assert "Sam Okafor" in keyworkers and "Chris Adeyemi" not in keyworkers  # Chris works 12:00-20:00
    assert set(keyworkers["Sam Okafor"]) == {"name", "phone", "teams"}
    assert [e["name"] for e in data["available"]["expert_by_experience"]] == ["Kim Walsh"]
    assert sunday.stdout.splitlines() == ["Available at Sun 28 Mar 2027 10:00 (Europe/London):", "  nobody"]


def test_bad_at_time_is_one_error_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    whens = ["yesterday", "2027-13-01T09:00", "29/03/2027 10:00"]
    results = run_all(*(["--db", url, "available", "--at", when] for when in whens))
    for when, result in zip(whens, results):
        assert f"'{when}' is not an ISO time" in one_error_line(result)


def test_bad_database_url_is_one_error_line(tmp_path):
    not_a_database = tmp_path / "notes.db"
    not_a_database.write_text("shopping list\n" * 100)
    cases = {
        "nonsense://somewhere": "unsupported database 'nonsense'",
        "not a url": "the database URL is not valid",
        "postgresql://someone:s3cret@127.0.0.1:1/nothing": "cannot open or upgrade the database",
        "sqlite:////proc/no-such-dir/diveboat.db": "cannot create the folder",
        f"sqlite:///{not_a_database}": "file is not a database",
    }
    results = run_all(*(["--db", url, "people", "list"] for url in cases))
    for (url, expected), result in zip(cases.items(), results):
        line = one_error_line(result)
        assert result.returncode == 1, line
        assert line.startswith("diveboat: error: database: ") and expected in line, line
        assert "s3cret" not in line


def test_default_database_is_created_in_the_user_data_folder(tmp_path):
    data_home = Path(os.environ["XDG_DATA_HOME"])
    assert not data_home.exists()
    workdir = tmp_path / "work"
    workdir.mkdir()
    result = diveboat("demo", "--seed-only", cwd=workdir)
    assert result.returncode == 0, result.stderr
    database = data_home / "diveboat" / "diveboat.db"
    assert database.is_file()
    assert str(database) in result.stderr
    assert table_counts(f"sqlite:///{database}")["person"] == 23
    assert list(workdir.iterdir()) == []  # nothing written to the working folder


VALID = f"""{HEADER}
Morgan Ellis,07700 900100,,manager,,,,North Outreach,,,,,,
Taylor Brooks,07700 900101,,keyworker,part_time,asye,2027-01-04,North Outreach,housing,Morgan Ellis,,,,
Dr Nadia Haddad,07700 900102,,metateam,,,,,,,,,2,10:00-16:00
"""
BAD = f"""{HEADER}
Bad Phone,07700 12,,keyworker,,,,,,,,,,
Bad Role,07700 900111,,social_worker,,,,,,,,,,
Taylor Again,07700 900101,,keyworker,,,,,,,,,,
Dup Phone,+447700900101,,keyworker,,,,,,,,,,
New Asye,07700 900112,,keyworker,,asye,,,,,,,,
Unknown Boss,07700 900113,,keyworker,,,,,,Nobody Here,,,,
"""


def test_import_valid_file(db_url, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(VALID, encoding="utf-8")
    result = diveboat("--db", db_url, "people", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"Imported {path}: 3 added, 0 updated."
    again = diveboat("--db", db_url, "people", "import", str(path))
    assert again.stdout.strip() == f"Imported {path}: 0 added, 3 updated."
    assert [r["name"] for r in records(db_url)] == ["Dr Nadia Haddad", "Morgan Ellis", "Taylor Brooks"]


def test_bad_file_is_refused_whole_and_the_database_is_untouched(db_url, tmp_path):
    seed(db_url, VALID)
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    counts, before = table_counts(db_url), records(db_url)

    result = diveboat("--db", db_url, "people", "import", str(bad))

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"diveboat: error: {bad} was not imported; nothing was changed. Fix these lines:",
        "  line 2: '07700 12' is not a valid phone number",
        "  line 3: role 'social_worker' is not one of keyworker, metateam, expert_by_experience, manager",
        "  line 5: phone +447700900101 is already used on line 4",
        "  line 6: practice_stage asye needs stage_date (the ASYE start date)",
        "  line 7: line_manager 'Nobody Here' is not on the roster or in the file",
    ]
    assert table_counts(db_url) == counts
    assert records(db_url) == before


def test_file_problems_are_clear_errors(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    open_database(url).dispose()
    header_only, wrong_header, legacy = tmp_path / "empty.csv", tmp_path / "wrong.csv", tmp_path / "legacy.csv"
    header_only.write_text(HEADER + "\n", encoding="utf-8")
    wrong_header.write_text("Full name,Mobile\nSam,07700 900100\n", encoding="utf-8")
    legacy.write_bytes(VALID.replace("Taylor", "Zo\u00eb").encode("cp1252"))
    empty, wrong, not_utf8, missing = run_all(
        *(["--db", url, "people", "import", str(path)] for path in (header_only, wrong_header, legacy, tmp_path / "nope.csv"))
    )
    assert empty.returncode == 1 and "  the file has no people in it" in empty.stderr
    assert wrong.returncode == 1 and "  line 1: header is missing column(s) name, phone, role" in wrong.stderr
    assert one_error_line(not_utf8) == f"diveboat: error: {legacy} is not UTF-8 text; save it as 'CSV UTF-8' and try again"
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert table_counts(url)["person"] == 0


def test_excel_csv_with_byte_order_mark_and_crlf_imports(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    path = tmp_path / "from-excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.replace("Taylor", "Zo\u00eb").replace("\n", "\r\n").encode("utf-8"))
    result = diveboat("--db", url, "people", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert "Zo\u00eb Brooks" in [r["name"] for r in records(url)]


def test_export_then_import_into_a_fresh_database_round_trips(db_url, tmp_path):
    seed(db_url)
    exported = tmp_path / "roster.csv"
    to_file, to_stdout = run_all(["--db", db_url, "people", "export", "-o", str(exported)], ["--db", db_url, "people", "export"])
    assert to_file.returncode == 0, to_file.stderr
    assert to_file.stderr.strip() == f"Wrote 23 people to {exported}."
    assert to_stdout.stdout == exported.read_text(encoding="utf-8")

    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    imported = diveboat("--db", fresh, "people", "import", str(exported))
    assert imported.returncode == 0, imported.stderr
    assert records(fresh) == records(db_url)


def test_help_version_and_unknown_command():
    help_, version, unknown = run_all(["--help"], ["--version"], ["peeple", "list"])
    assert "people" in help_.stdout and "available" in help_.stdout and "demo" in help_.stdout
    assert version.returncode == 0 and "0.1.0" in version.stdout
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines()[0].startswith("diveboat: error: No such command 'peeple'")
