"""Where the CPU goes while a benchmark runs: some processes' CPU time, and how busy the machine was.

Latency figures on a small machine swing from run to run (the same code's reply p99 has
ranged over 10x); the CPU a server spends per request and the machine's busiest second
move far less, and say whether a tail comes from work queueing for the cores.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil

SAMPLE_SECONDS = 0.25
WINDOW_SAMPLES = 4  # the busiest second: four samples a quarter of a second apart


def process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by the processes ``pids`` and all their children."""
    total = 0.0
    for pid in pids:
        process = psutil.Process(pid)
        for member in [process, *process.children(recursive=True)]:
            try:
                times = member.cpu_times()
            except psutil.NoSuchProcess:  # ended between listing and reading
                continue
            total += times.user + times.system
    return total


@dataclass
class MachineLoad:
    """How many of the machine's cores were busy: on average and in the busiest second."""

    samples: list[tuple[float, float]] = field(default_factory=list)  # (perf_counter, busy CPU seconds so far)

    @property
    def mean_cores(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        return _cores(self.samples[0], self.samples[-1])

    @property
    def busiest_second_cores(self) -> float:
        step = min(WINDOW_SAMPLES, len(self.samples) - 1)
        if step < 1:
            return 0.0
        return max(_cores(self.samples[i], self.samples[i + step]) for i in range(len(self.samples) - step))


def _cores(first: tuple[float, float], last: tuple[float, float]) -> float:
    """Busy cores on average between two samples."""
    return (last[1] - first[1]) / (last[0] - first[0])


#: The CPU times that are work done on this machine (not idle, waiting for disk or stolen by a
#: hypervisor; Linux's guest times are already inside ``user`` and ``nice``).
BUSY_TIMES = ("user", "nice", "system", "irq", "softirq")


def _busy_seconds() -> float:
    times = psutil.cpu_times()
    return sum(getattr(times, name, 0.0) for name in BUSY_TIMES)


@contextmanager
def machine_load() -> Iterator[MachineLoad]:
    """Sample the whole machine's busy CPU time every quarter second while the block runs."""
    load = MachineLoad()
    stop = threading.Event()

    def sample() -> None:
        while True:
            load.samples.append((time.perf_counter(), _busy_seconds()))
            if stop.wait(SAMPLE_SECONDS):
                load.samples.append((time.perf_counter(), _busy_seconds()))
                return

    sampler = threading.Thread(target=sample, name="bench-cpu-sampler", daemon=True)
    sampler.start()
    try:
        yield load
    finally:
        stop.set()
        sampler.join()
