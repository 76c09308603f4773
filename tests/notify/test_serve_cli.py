"""``diveboat serve`` and ``diveboat poll`` as real processes, against the fake Twilio."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from roster.db import open_database, session_factory
from tests.notify.helpers import Clock, add_team, ask_for_quorum, request_state, wait_for

SCRIPT = Path(sys.executable).with_name("diveboat")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-c", "from tui.cli import main; main()"]


def diveboat(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=120,
                            env={**os.environ, **(env or {})})
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def database(tmp_path):
    """A migrated SQLite file with Sam and six keyworkers on duty; returns (url, session factory)."""
    url = f"sqlite:///{tmp_path / 'diveboat.db'}"
    engine = open_database(url)
    new_session = session_factory(engine)
    with new_session() as session:
        team = add_team(session, Clock()())
    yield url, new_session, team
    engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_refuses_to_start_without_an_auth_token(database):
    url, _, _ = database
    result = diveboat("--db", url, "serve", env={"TWILIO_ACCOUNT_SID": "AC1"})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "diveboat: error: TWILIO_AUTH_TOKEN is not set: the server checks every Twilio request's signature with it. "
        "Set TWILIO_AUTH_TOKEN (and TWILIO_ACCOUNT_SID, TWILIO_FROM_NUMBER) and try again, "
        "or use --feeds-only to serve the calendar feeds alone"
    ]


def test_serve_on_a_port_already_taken_fails_in_one_line(database, twilio):
    url, _, _ = database
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = subprocess.run([*COMMAND, "--db", url, "serve", "--port", str(taken.getsockname()[1])],
                                env={**os.environ, **twilio.settings_env()}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "address already in use" in result.stderr  # uvicorn's own error first
    assert result.stderr.splitlines()[-1] == (
        "diveboat: error: the server could not start (its error is above); fix that and start again")


def test_poll_needs_twilio_credentials(database):
    url, _, _ = database
    result = diveboat("--db", url, "poll")
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "Twilio is not configured" in result.stderr


def test_poll_reports_twilio_refusing_our_credentials_in_one_line(database, twilio):
    url, _, _ = database
    result = diveboat("--db", url, "poll", env=twilio.settings_env() | {"TWILIO_AUTH_TOKEN": "wrong"})
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["diveboat: error: Twilio refused the request: HTTP 401 (code 20003) Authenticate"]


def test_one_poll_reads_replies_and_sends_what_they_queue(database, twilio):
    url, new_session, team = database
    request_id = ask_for_quorum(new_session, team["Sam"], Clock(), need=1)
    first = json.loads(diveboat("--db", url, "poll", "--json", env=twilio.settings_env()).stdout)
    assert (first["replies"], first["sent"]) == (0, 2)
    invitee = next(p for p in (twilio.phone(person.phone) for person in team.values()) if p.texts)
    invitee.reply("1")
    second = json.loads(diveboat("--db", url, "poll", "--json", env=twilio.settings_env()).stdout)
    assert second["replies"] == 1 and second["sent"] >= 2  # confirmation, stand-down, requester's note
    assert request_state(new_session, request_id) == "formed"
    assert invitee.last_text.startswith("Dive Boat: you're in.")


def test_diveboat_serve_forms_a_quorum_from_signed_webhooks(database, twilio):
    url, new_session, team = database
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    twilio.sms_webhook = f"{public}/twilio/sms"
    env = {**os.environ, **twilio.settings_env(), "DIVEBOAT_PUBLIC_URL": public}
    server = subprocess.Popen([*COMMAND, "--db", url, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: _healthy(public), "diveboat serve to answer /healthz", timeout=60)
        request_id = ask_for_quorum(new_session, team["Sam"], Clock(), need=2)
        phones = {name: twilio.phone(person.phone) for name, person in team.items()}
        wait_for(lambda: sum(bool(p.texts) for p in phones.values()) == 3, "the first wave, sent by the server's clock")
        a, b, c = [name for name, phone in phones.items() if phone.texts]
        assert all(m.status_callback == f"{public}/twilio/status" for m in twilio.sent_messages())
        twilio.deliver_statuses()
        phones[a].reply("1")
        phones[b].reply("2")
        phones[c].reply("1")
        assert request_state(new_session, request_id) == "formed"
        wait_for(lambda: len(phones[a].texts) == 2 and len(phones[c].texts) == 2 and phones["Sam"].texts, "confirmations")
        assert phones[a].last_text.startswith("Dive Boat: you're in.") and c in phones[a].last_text
        assert len(phones[b].texts) == 1
        forged = twilio.post_signed(twilio.sms_webhook, {"From": phones[b].number, "Body": "1", "MessageSid": "SMx"},
                                    signature="forged")
        assert forged.status_code == 403
    finally:
        server.send_signal(signal.SIGINT)
        stdout, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr
    assert "Traceback" not in stderr and "Stopped." in stderr


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        time.sleep(0.1)
        return False


def test_diveboat_serve_reads_replies_sent_while_it_was_down(database, twilio):
    url, new_session, team = database
    request_id = ask_for_quorum(new_session, team["Sam"], Clock(), need=2)
    diveboat("--db", url, "poll", env=twilio.settings_env())  # the first wave goes out; then no server runs
    phones = [p for p in (twilio.phone(person.phone) for person in team.values()) if p.texts]
    for phone in phones[:2]:
        phone.reply("1")  # nothing listens: Twilio cannot deliver these webhooks
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = {**os.environ, **twilio.settings_env(), "DIVEBOAT_PUBLIC_URL": public}
    server = subprocess.Popen([*COMMAND, "--db", url, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: request_state(new_session, request_id) == "formed", "the replies sent while down", timeout=60)
        wait_for(lambda: phones[0].last_text.startswith("Dive Boat: you're in."), "the confirmation")
    finally:
        server.send_signal(signal.SIGINT)
        stdout, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr


def _children(pid: int) -> set[int]:
    children = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children.update(int(child) for child in (task / "children").read_text().split())
    return children


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its exit status is left


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from /proc")
def test_diveboat_serve_ended_by_sigterm_leaves_no_sending_process_behind(database, twilio):
    url, _, _ = database
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = {**os.environ, **twilio.settings_env(), "DIVEBOAT_PUBLIC_URL": public}
    server = subprocess.Popen([*COMMAND, "--db", url, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _healthy(public), "diveboat serve to answer /healthz", timeout=60)
        children = _children(server.pid)
        assert children, "the sending process runs beside the server"
    finally:
        server.terminate()  # uvicorn re-raises SIGTERM once shut down: the server's own clean-up is skipped
        server.wait(timeout=60)
    wait_for(lambda: not any(_running(pid) for pid in children), "the server's child processes to end", timeout=10)
