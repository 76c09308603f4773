"""The benchmarks in their short mode, as CI runs them: ``python -m tests.bench --quick --json FILE``.

Checks that every section runs and reports in the agreed format; it asserts nothing about
the timings themselves (those are for people to read, not for the suite to fail on).
Takes two to three minutes, so it runs after every other test.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|nan|-?inf"
FIGURE_LINE = re.compile(
    rf"(?P<name>[a-z_]+\.\S+): (?P<value>{NUMBER}) (?P<unit>\S.*?)"
    rf" \(limit: (?P<limit>{NUMBER}|none), ratio: (?P<ratio>{NUMBER}|none), target: (?P<target>{NUMBER}|none)\)"
)
JSON_KEYS = {"name", "value", "unit", "limit", "ratio", "target"}
SECTIONS = ["fanout.", "replies.", "reply_to_screen.", "time_to_quorum.", "roster.", "plan.", "feed.", "startup."]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """One ``--quick`` run in this environment (PostgreSQL too when DIVEBOAT_TEST_POSTGRES_URL is set)."""
    output = tmp_path_factory.mktemp("bench") / "figures.json"
    result = subprocess.run([sys.executable, "-m", "tests.bench", "--quick", "--json", str(output)], cwd=ROOT,
                            env=dict(os.environ), capture_output=True, text=True, timeout=1800)
    figures = json.loads(output.read_text()) if output.exists() else []
    return result, figures


@pytest.mark.run_last
def test_quick_benchmarks_run_every_section_and_report_in_the_agreed_format(quick_run):
    result, figures = quick_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    header = result.stdout.splitlines()[0]
    assert header.startswith("# Dive Boat benchmarks (quick mode; databases: sqlite")
    if os.environ.get("DIVEBOAT_TEST_POSTGRES_URL"):
        assert "databases: sqlite, postgres;" in header

    lines = [line for line in result.stdout.splitlines() if line and not line.startswith("#")]
    assert isinstance(figures, list) and len(lines) == len(figures) > 0
    for line, figure in zip(lines, figures):
        assert isinstance(figure, dict) and set(figure) == JSON_KEYS, figure
        match = FIGURE_LINE.fullmatch(line)
        assert match, f"not a figure line: {line!r}"
        assert (match["name"], match["unit"]) == (figure["name"], figure["unit"])
        if figure["limit"] is None:
            assert match["limit"] == match["ratio"] == "none" and figure["ratio"] is None, line
            continue
        assert match["limit"] != "none", f"a figure with a limit prints it: {line!r}"
        if figure["value"] is not None and figure["limit"]:
            assert math.isclose(figure["ratio"], figure["value"] / figure["limit"], rel_tol=2e-3), figure

    names = [figure["name"] for figure in figures]
    for prefix in SECTIONS:
        assert any(name.startswith(prefix) for name in names), f"no {prefix} figures"
