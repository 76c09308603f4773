"""``diveboat serve --workers N``: several server processes on one port (PostgreSQL only)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import uuid

import pytest
import sqlalchemy as sa

from roster.db import make_engine, normalise_url, open_database, session_factory
from tests.conftest import POSTGRES_URL
from tests.notify.helpers import Clock, add_team, ask_for_quorum, request_state, wait_for
from tests.notify.test_serve_cli import COMMAND, _healthy, diveboat, free_port


def test_workers_need_postgresql(tmp_path):
    url = f"sqlite:///{tmp_path / 'diveboat.db'}"
    result = diveboat("--db", url, "serve", "--workers", "2", env={"TWILIO_AUTH_TOKEN": "token"})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "diveboat: error: --workers 2 needs PostgreSQL: SQLite lets one process write at a time, and one server "
        "(the default, --workers 1) already records replies that arrive together in one transaction. "
        "Drop --workers, or point --db (DIVEBOAT_DB) at a PostgreSQL database"
    ]
    assert not (tmp_path / "diveboat.db").exists()  # refused before the database was created


def test_workers_must_be_a_positive_number(tmp_path):
    result = diveboat("--db", f"sqlite:///{tmp_path / 'diveboat.db'}", "serve", "--workers", "0")
    assert result.returncode == 2 and "Invalid value for '--workers'" in result.stderr


def test_two_workers_share_the_port_and_form_a_quorum_from_signed_webhooks(db_url, twilio, tmp_path):
    if db_url.startswith("sqlite"):
        pytest.skip("--workers needs PostgreSQL")
    engine = open_database(db_url)
    new_session = session_factory(engine)
    with new_session() as session:
        team = add_team(session, Clock()())
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    twilio.sms_webhook = f"{public}/twilio/sms"
    log = tmp_path / "serve.log"
    env = {**os.environ, **twilio.settings_env(), "DIVEBOAT_PUBLIC_URL": public}
    with log.open("w") as log_file:
        server = subprocess.Popen([*COMMAND, "--db", db_url, "serve", "--port", str(port), "--workers", "2"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=log_file, text=True)
    try:
        wait_for(lambda: log.read_text().count("Application startup complete") == 2 and _healthy(public),
                 "both workers to start", timeout=90)
        workers = [int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", log.read_text())]
        assert len(set(workers)) == 2
        request_id = ask_for_quorum(new_session, team["Sam"], Clock(), need=2)
        phones = {name: twilio.phone(person.phone) for name, person in team.items()}
        wait_for(lambda: sum(bool(p.texts) for p in phones.values()) == 3, "the first wave, sent by the clock")
        a, b, c = [name for name, phone in phones.items() if phone.texts]
        phones[a].reply("1")
        phones[b].reply("2")
        phones[c].reply("1")
        wait_for(lambda: request_state(new_session, request_id) == "formed", "the quorum, formed after the join's answer")
        wait_for(lambda: len(phones[a].texts) == 2 and len(phones[c].texts) == 2 and phones["Sam"].texts, "confirmations")
        assert phones[a].last_text.startswith("Dive Boat: you're in.") and c in phones[a].last_text
        assert len(phones[b].texts) == 1
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
        engine.dispose()
    text = log.read_text()
    assert server.returncode == 0, text
    assert "Traceback" not in text and "Stopped." in text
    for pid in workers:  # each worker and its sending process are gone with the command
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.fixture
def few_connections_url(db_url):
    """A PostgreSQL database URL whose role may open only six connections (a worker warms eight)."""
    if db_url.startswith("sqlite"):
        pytest.skip("--workers needs PostgreSQL")
    role = f"few_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 6")
        connection.exec_driver_sql(f"CREATE SCHEMA {role} AUTHORIZATION {role}")
    url = sa.make_url(normalise_url(POSTGRES_URL)).set(username=role, query={"options": f"-csearch_path={role}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {role} CASCADE")
            connection.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def test_workers_on_a_port_already_taken_fail_in_one_line(db_url, twilio):
    if db_url.startswith("sqlite"):
        pytest.skip("--workers needs PostgreSQL")
    open_database(db_url).dispose()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = subprocess.run([*COMMAND, "--db", db_url, "serve", "--port", str(taken.getsockname()[1]), "--workers", "2"],
                                env={**os.environ, **twilio.settings_env()}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "address already in use" in result.stderr.lower()  # uvicorn's own error first
    assert result.stderr.splitlines()[-1] == (
        "diveboat: error: the server could not start (its error is above); fix that and start again")


def test_a_worker_that_cannot_start_stops_the_command_with_an_error(few_connections_url, twilio, tmp_path):
    result = subprocess.run([*COMMAND, "--db", few_connections_url, "serve", "--port", str(free_port()), "--workers", "2"],
                            env={**os.environ, **twilio.settings_env()}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "too many connections" in result.stderr  # the worker's own error, logged before it ended
    assert result.stderr.splitlines()[-1] == (
        "diveboat: error: a worker could not start (its error is above), so none is serving; fix that and start again")
