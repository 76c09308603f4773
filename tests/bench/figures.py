"""Figures: one measured value, the limit it should approach, and the ratio it must not exceed.

A figure prints as ``name: value unit (limit: value, ratio: r, target: t)`` and, for
``--json``, as ``{"name", "value", "unit", "limit", "ratio", "target"}`` with
``ratio = value / limit`` and ``null`` where a figure has no limit or no target.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One line of the benchmark report."""

    name: str
    value: float
    unit: str
    limit: float | None = None
    target: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.limit is None or self.limit == 0:
            return None
        return self.value / self.limit

    @property
    def missed(self) -> bool:
        """True when the figure has a target and its ratio exceeds it."""
        return self.target is not None and self.ratio is not None and self.ratio > self.target

    def line(self) -> str:
        """``name: value unit (limit: value, ratio: r, target: t)``; ``none`` where there is none."""
        return (f"{self.name}: {number(self.value)} {self.unit} (limit: {number(self.limit)}, "
                f"ratio: {number(self.ratio)}, target: {number(self.target)})")

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "value": rounded(self.value),
            "unit": self.unit,
            "limit": rounded(self.limit),
            "ratio": rounded(self.ratio),
            "target": self.target,
        }


def number(value: float | None) -> str:
    """Three significant figures, no exponent for the sizes we print."""
    if value is None:
        return "none"
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value == int(value) and abs(value) < 1e7:
        return str(int(value))
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def rounded(value: float | None) -> float | None:
    """Four significant figures; None (JSON null) for no value or a value that is not a number."""
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return float(f"{value:.4g}")


def median_seconds(action: Callable[[], object], repeats: int, *, warmup: int = 1) -> float:
    """The median wall-clock time of ``action`` over ``repeats`` runs, after ``warmup`` runs."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) of ``values``, nearest-rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def ms(seconds: float) -> float:
    return seconds * 1000.0
