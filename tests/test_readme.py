"""The README's quick start is the contract CI runs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start_lines() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("## Quick start", 1)[1].split("```", 2)[1]
    return [line.strip() for line in block.splitlines()[1:] if line.strip() and not line.startswith("#")]


def test_quick_start_has_two_command_lines():
    lines = quick_start_lines()
    assert len(lines) == 2
    assert "diveboat demo" in lines[0]
    assert "pytest" in lines[1]


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert quick_start_lines()[1] in ci
