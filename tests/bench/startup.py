"""``startup.``: first paint of the roster board with 2,000 people vs an empty Textual app.

Measured the way a coordinator meets it: ``diveboat --db URL`` is started in a real
pseudo-terminal (120x40) and timed from process start until the screen it writes shows
the loaded board (its status line, "N reachable now", which appears once the board's
rows are in the table). The limit is the same measurement, in the same run and turn by
turn, for a Textual app holding one label: Python start-up, Textual import and first
frame, which no dashboard can beat. Both include interpreter start; the board also
includes opening the database (and checking its schema) and loading 2,000 people.

A third figure, with no target, shows the floor under any SQLModel dashboard: the same
one-label app after importing the data stack the board cannot do without (SQLModel,
SQLAlchemy, pydantic-settings). The board's ratio can't fall below that one's.

And what the dashboard costs once painted, while nobody touches it and nothing changes
(``cpu_while_idle``): the CPU its process spends over :data:`IDLE_SECONDS` (quick: 1 s), as a
share of one core, beside the one-label app's measured the same way. The board
checks every second whether anything changed, and reads the roster again only then.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

from tests.bench.databases import analyse, fresh_engine
from tests.bench.figures import Figure
from tests.bench.options import Options
from tests.bench.population import populate

PEOPLE = 2_000
TARGET = 2.0
COLUMNS, ROWS = 120, 40
TIMEOUT = 120.0
EMPTY_APP = (
    "from textual.app import App\n"
    "from textual.widgets import Label\n"
    "class Empty(App):\n"
    "    def compose(self):\n"
    "        yield Label('ready to paint')\n"
    "Empty().run()\n"
)
EMPTY_APP_WITH_DATA_STACK = "import sqlmodel, pydantic_settings\n" + EMPTY_APP
IDLE_SECONDS = 9.0
#: After the first paint, before measuring idle: a long board adds its rest a chunk a frame, and the
#: dashboard's escalation clock takes its first turn (loading the Twilio client) after 2 s.
BOARD_SETTLE_SECONDS = 3.0
EMPTY_SETTLE_SECONDS = 0.5
BOARD_MARKER = b"reachable now"
EMPTY_MARKER = b"ready to paint"


def run(options: Options) -> Iterator[Figure]:
    repeats = options.pick(7, 1)
    for backend in options.backends:
        with fresh_engine(backend) as (url, engine):
            populate(engine, PEOPLE)
            analyse(engine)
            board_command = [sys.executable, "-c", "from tui.cli import main; main()", "--db", url]
            empty_command = [sys.executable, "-c", EMPTY_APP]
            floor_command = [sys.executable, "-c", EMPTY_APP_WITH_DATA_STACK]
            if not options.quick:  # warm the file cache for all three
                first_paint(empty_command, EMPTY_MARKER)
                first_paint(floor_command, EMPTY_MARKER)
                first_paint(board_command, BOARD_MARKER)
            empty, floor, board = [], [], []
            for _ in range(repeats):
                empty.append(first_paint(empty_command, EMPTY_MARKER))
                floor.append(first_paint(floor_command, EMPTY_MARKER))
                board.append(first_paint(board_command, BOARD_MARKER))
            idle_seconds = options.pick(IDLE_SECONDS, 1.0)
            empty_idle = cpu_while_idle(empty_command, EMPTY_MARKER, EMPTY_SETTLE_SECONDS, idle_seconds)
            board_idle = cpu_while_idle(board_command, BOARD_MARKER, BOARD_SETTLE_SECONDS, idle_seconds)
        empty_s, board_s = statistics.median(empty), statistics.median(board)
        yield Figure(f"startup.empty_app.{backend}", empty_s, "s")
        yield Figure(f"startup.empty_app_with_data_stack.{backend}", statistics.median(floor), "s", limit=empty_s)
        yield Figure(f"startup.board_{PEOPLE}_people.{backend}", board_s, "s", limit=empty_s, target=TARGET)
        yield Figure(f"startup.empty_app.cpu_while_idle.{backend}", empty_idle, "% of a core")
        yield Figure(f"startup.board_{PEOPLE}_people.cpu_while_idle.{backend}", board_idle, "% of a core",
                     limit=empty_idle)


def first_paint(command: list[str], marker: bytes) -> float:
    """Seconds from starting ``command`` in a pseudo-terminal until ``marker`` is on screen."""
    with _painted(command, marker) as (started, _process, _controller):
        return time.perf_counter() - started


def cpu_while_idle(command: list[str], marker: bytes, settle: float, seconds: float) -> float:
    """The CPU ``command`` spends while nobody types, over ``seconds`` from ``settle`` seconds
    after ``marker`` is on screen: percent of one core."""
    with _painted(command, marker) as (_started, process, controller):
        _drain(controller, settle)
        measured = psutil.Process(process.pid)
        before, started = sum(measured.cpu_times()[:2]), time.perf_counter()
        _drain(controller, seconds)
        return 100 * (sum(measured.cpu_times()[:2]) - before) / (time.perf_counter() - started)


def _drain(controller: int, seconds: float) -> None:
    """Read what the app writes for ``seconds`` (a terminal that stops reading would stall it)."""
    deadline = time.perf_counter() + seconds
    while (left := deadline - time.perf_counter()) > 0:
        ready, _, _ = select.select([controller], [], [], min(left, 0.5))
        if ready:
            try:
                os.read(controller, 65536)
            except OSError:  # the process ended
                raise RuntimeError("the app ended while idle") from None


@contextmanager
def _painted(command: list[str], marker: bytes) -> Iterator[tuple[float, subprocess.Popen, int]]:
    """Start ``command`` in a pseudo-terminal and wait until ``marker`` is on screen; yields when
    it started, the process and the terminal's controlling end. Quits it afterwards."""
    controller, terminal = pty.openpty()
    _set_size(terminal)
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(COLUMNS), "LINES": str(ROWS)}
    env.pop("TEXTUAL", None)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdin=terminal, stdout=terminal, stderr=terminal, env=env,
                               start_new_session=True, close_fds=True)
    os.close(terminal)
    seen = b""
    try:
        while marker not in seen:
            if time.perf_counter() - started > TIMEOUT:
                raise RuntimeError(f"no first paint within {TIMEOUT:.0f} s: {seen[-400:]!r}")
            ready, _, _ = select.select([controller], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the process ended
                    chunk = b""
                if not chunk:
                    raise RuntimeError(f"{command[-1]!r} ended before painting: {seen[-400:]!r}")
                seen = seen[-len(marker):] + chunk if len(seen) > 1 << 20 else seen + chunk
        yield started, process, controller
    finally:
        _stop(process, controller)


def _set_size(terminal: int) -> None:
    import fcntl
    import struct
    import termios

    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))


def _stop(process: subprocess.Popen, controller: int) -> None:
    """Quit with ctrl+q as a user would; end the process group if it lingers."""
    try:
        os.write(controller, b"\x11")
    except OSError:
        pass
    deadline = time.monotonic() + 10
    while process.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                os.read(controller, 65536)
            except OSError:
                break
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    os.close(controller)
