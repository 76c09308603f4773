"""``python -m tests.bench [--quick] [--json FILE] [--strict] [SECTION ...]``

Prints one line per figure, ``name: value unit (limit: value, ratio: r, target: t)``, as
each is measured; ``--json FILE`` also writes them as a JSON list. ``--quick`` uses CI
sizes (under 3 minutes). A section that fails is reported and the others still run;
the exit code is then 1. ``--strict`` also exits 1 when a figure misses its target. Every
database figure is measured on SQLite and, when ``DIVEBOAT_TEST_POSTGRES_URL`` is set,
on PostgreSQL too.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

from tests.bench.databases import backends, vacuum_catalogs
from tests.bench.figures import Figure, number
from tests.bench.options import Options

SECTIONS = {  # in the order
    "fanout": "tests.bench.fanout",
    "replies": "tests.bench.reply_load",
    "reply_to_screen": "tests.bench.reply_screen",
    "time_to_quorum": "tests.bench.time_to_quorum",
    "roster": "tests.bench.roster_scale",
    "plan": "tests.bench.plan_feed",
    "startup": "tests.bench.startup",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.splitlines()[2])
    parser.add_argument("sections", nargs="*", metavar="SECTION", help=f"only these: {', '.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="CI sizes: the whole run in under 3 minutes")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a figure misses its target")
    args = parser.parse_args(argv)
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section {', '.join(unknown)} (choose from {', '.join(SECTIONS)})")
    options = Options(quick=args.quick, backends=tuple(backends()))
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"# Dive Boat benchmarks ({'quick' if args.quick else 'full'} mode; databases: {', '.join(options.backends)}; "
          f"{os.cpu_count()} CPUs, load average {load})", flush=True)
    problem = vacuum_catalogs()
    if problem:
        print(f"# PostgreSQL's catalogs were not vacuumed before measuring: {problem}", flush=True)
    figures: list[Figure] = []
    failed: list[str] = []
    started = time.perf_counter()
    for section in args.sections or SECTIONS:
        section_started = time.perf_counter()
        try:
            for figure in importlib.import_module(SECTIONS[section]).run(options):
                figures.append(figure)
                print(figure.line(), flush=True)
        except Exception as error:  # one broken section must not hide the others' figures
            failed.append(section)
            traceback.print_exc()
            print(f"# {section}: FAILED: {type(error).__name__}: {error}", flush=True)
            continue
        print(f"# {section}: {time.perf_counter() - section_started:.1f} s", flush=True)
    missed = [f for f in figures if f.missed]
    with_targets = sum(1 for f in figures if f.target is not None)
    print(f"# {len(figures)} figures in {time.perf_counter() - started:.0f} s; "
          f"targets met: {with_targets - len(missed)} of {with_targets}", flush=True)
    for figure in missed:
        print(f"# missed: {figure.name} (ratio {number(figure.ratio)} > target {number(figure.target)})", flush=True)
    if failed:
        print(f"# failed sections: {', '.join(failed)}", flush=True)
    if args.json:
        args.json.write_text(json.dumps([f.as_json() for f in figures], indent=2) + "\n")
    return 1 if failed or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
