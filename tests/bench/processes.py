"""The processes benchmarks run beside the one measuring: the fake Twilio and ``diveboat serve``.

Each runs in its own process so it does not compete with the measuring process for the
GIL; both are stopped when their ``with`` block ends.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import httpx

from roster.settings import Settings

DIVEBOAT_COMMAND = [sys.executable, "-c", "from tui.cli import main; main()"]


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def fake_twilio_process(latency: float = 0.0) -> Iterator[dict[str, str]]:
    """The fake Twilio (``python -m tests.fake_twilio``), answering every API request after
    ``latency`` seconds; yields its ``api_url``, ``account_sid``, ``auth_token`` and ``number``."""
    process = subprocess.Popen([sys.executable, "-m", "tests.fake_twilio", str(latency)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        yield json.loads(process.stdout.readline())
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def twilio_settings(url: str, fake: dict[str, str], **more) -> Settings:
    """Settings for the database at ``url`` that send through the fake Twilio ``fake``."""
    return Settings(db=url, twilio_account_sid=fake["account_sid"], twilio_auth_token=fake["auth_token"],
                    twilio_from_number=fake["number"], twilio_api_url=fake["api_url"], **more)


class Server(NamedTuple):
    """A server process the benchmark started: its URL and its process id."""

    url: str
    pid: int


@contextmanager
def diveboat_serve(url: str, fake: dict[str, str], workers: int = 1) -> Iterator[Server]:
    """``diveboat serve --workers N`` for the database at ``url``, sending through the fake Twilio
    ``fake``; yields its base URL and process id once every worker has started (uvicorn logs each)
    and ``/healthz`` answers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TWILIO_ACCOUNT_SID": fake["account_sid"], "TWILIO_AUTH_TOKEN": fake["auth_token"],
           "TWILIO_FROM_NUMBER": fake["number"], "DIVEBOAT_TWILIO_API_URL": fake["api_url"], "DIVEBOAT_PUBLIC_URL": base}
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen([*DIVEBOAT_COMMAND, "--db", url, "serve", "--port", str(port), "--workers", str(workers)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=log)

        def started() -> bool:
            log.seek(0)
            return (log.read().count(b"Application startup complete") >= workers
                    and httpx.get(f"{base}/healthz", timeout=1).status_code == 200)

        try:
            wait_until_answering(server, started, "diveboat serve", timeout=60)
            yield Server(base, server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)


def wait_until_answering(process: subprocess.Popen, answers, name: str, *, timeout: float = 30) -> None:
    """Poll ``answers()`` (a connection error counts as no) until it is true; raise if ``process``
    exits or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if answers():
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.1)
