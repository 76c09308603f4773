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

    mean_cores: float = 0.0
    busiest_second_cores: float = 0.0
    _samples: list[tuple[float, float]] = field(default_factory=list)

    def add(self, at: float, busy_seconds: float) -> None:
        """Record the machine's busy CPU seconds so far, read at ``at`` (``time.perf_counter``)."""
        self._samples.append((at, busy_seconds))

    def settle(self) -> None:
        """Compute the figures from the samples taken."""
        samples = self._samples
        if len(samples) < 2:
            return
        (first_at, first_busy), (last_at, last_busy) = samples[0], samples[-1]
        self.mean_cores = (last_busy - first_busy) / (last_at - first_at)
        step = min(WINDOW_SAMPLES, len(samples) - 1)
        self.busiest_second_cores = max(
            (samples[i + step][1] - samples[i][1]) / (samples[i + step][0] - samples[i][0])
            for i in range(len(samples) - step)
        )


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
            load.add(time.perf_counter(), _busy_seconds())
            if stop.wait(SAMPLE_SECONDS):
                load.add(time.perf_counter(), _busy_seconds())
                return

    sampler = threading.Thread(target=sample, name="bench-cpu-sampler", daemon=True)
    sampler.start()
    try:
        yield load
    finally:
        stop.set()
        sampler.join()
        load.settle()
