"""``time_to_quorum.``: our escalation policy vs inviting everyone at once vs a call tree.

The simulation (:mod:`tests.bench.quorum_sim`, where the behaviour model is stated)
drives the real ``create_request`` / ``advance`` / ``record_sms_reply`` code on a
simulated clock. For 2- and 3-person quorums it reports the median and 90th percentile
time to form (a request not formed by its 20-minute deadline counts as 20 minutes) and
the messages sent per quorum, for:

- ``policy``: the product's default escalation policy (first wave need+1 by SMS, calls
  and the next wave after 3 minutes);
- ``urgent``: the urgent preset a requester may choose (first wave need+4 texted and
  called at once, the next wave after 2 minutes), run as urgent requests under the
  default service policy;
- ``everyone``: the same code with a first wave of all 40 people (the fastest possible);
- ``call_tree``: a coordinator phoning one person at a time (calls per quorum).

Targets (for ``policy`` and ``urgent``): the median within 1.3x of inviting everyone,
with at most half its messages. The outcome does not depend on the database (same seeds, same code path):
quick mode runs on the first database only. In full mode a sweep of policies (first-wave size ``need + extra`` and the
interval before calls and the next wave; a few points call each wave at once and wait
only for the next wave) draws the trade-off curve to
``tests/bench/tradeoff.png`` (and prints each point as ``time_to_quorum.sweep.*``).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from roster.db import session_factory
from roster.quorum.policy import DEFAULT_POLICY, EscalationPolicy
from tests.bench.databases import fresh_engine
from tests.bench.figures import Figure, percentile
from tests.bench.options import Options
from tests.bench.quorum_sim import PEOPLE, Outcome, call_tree, populate, simulate_policy

SEED = 2027
NEEDS = (2, 3)
MEDIAN_TARGET = 1.3
MESSAGES_TARGET = 0.5
PLOT = Path(__file__).with_name("tradeoff.png")
EVERYONE = replace(DEFAULT_POLICY, extra_per_wave=PEOPLE)
#: (extra, minutes, calls at once): first wave need+extra; next wave after ``minutes``; calls
#: after the same wait, or with each invitation (the urgent family; +4/2 is the urgent preset).
SWEEP = ([(extra, 3.0, False) for extra in (0, 2, 4, 8, 12, 17)] + [(extra, 1.5, False) for extra in (0, 1, 2, 4)]
         + [(1, 2.0, False), (2, 2.0, False), (1, 5.0, False)]
         + [(extra, 2.0, True) for extra in (0, 1, 2, 8)] + [(4, 3.0, True)])
SWEEP_RUNS = 50


@dataclass(frozen=True)
class Summary:
    median: float
    p90: float
    messages: float
    formed: float


def summarise(outcomes: list[Outcome], deadline_minutes: float) -> Summary:
    minutes = [o.minutes if o.minutes is not None else deadline_minutes for o in outcomes]
    return Summary(
        median=statistics.median(minutes),
        p90=percentile(minutes, 0.9),
        messages=statistics.mean(o.messages for o in outcomes),
        formed=sum(o.minutes is not None for o in outcomes) / len(outcomes),
    )


def swept(extra: int, minutes: float, calls_at_once: bool) -> EscalationPolicy:
    interval = timedelta(minutes=minutes)
    return replace(DEFAULT_POLICY, extra_per_wave=extra, wave_interval=interval,
                   voice_after=timedelta(0) if calls_at_once else interval)


def run(options: Options) -> Iterator[Figure]:
    runs = options.pick(100, 6)
    curve: dict[int, dict[str, tuple[Summary, str]]] = {need: {} for need in NEEDS}
    # Quick mode: the first database only; the simulation gives the same figures on both.
    for backend in options.backends[:1] if options.quick else options.backends:
        primary = backend == options.backends[0]
        for need in NEEDS:
            deadline = DEFAULT_POLICY.deadline_minutes
            ours = summarise(_simulate(backend, DEFAULT_POLICY, need, runs), deadline)
            urgent = summarise(_simulate(backend, DEFAULT_POLICY, need, runs, urgent=True), deadline)
            everyone = summarise(_simulate(backend, EVERYONE, need, runs), deadline)
            tree = summarise(call_tree(need, runs, SEED, deadline), deadline)
            prefix = f"time_to_quorum.need_{need}"
            yield from _figures(f"{prefix}.policy", backend, ours, everyone, targets=True)
            yield from _figures(f"{prefix}.urgent", backend, urgent, everyone, targets=True)
            yield from _figures(f"{prefix}.everyone", backend, everyone, None)
            yield from _figures(f"{prefix}.call_tree", backend, tree, everyone)
            if primary and not options.quick:
                curve[need].update({"policy": (ours, "default"), "urgent": (urgent, "urgent"),
                                    "everyone": (everyone, "everyone"), "call tree": (tree, "call tree")})
                for extra, minutes, calls_at_once in SWEEP:
                    policy = swept(extra, minutes, calls_at_once)
                    if policy != DEFAULT_POLICY:
                        summary = summarise(_simulate(backend, policy, need, SWEEP_RUNS), deadline)
                        kind = "sweep, calls at once" if calls_at_once else "sweep"
                        curve[need][f"+{extra}/{minutes:g}" + (" at once" if calls_at_once else "")] = (summary, kind)
                        point = (f"time_to_quorum.sweep.need_{need}.extra_{extra}.interval_{minutes:g}_min"
                                 + (".calls_at_once" if calls_at_once else ""))
                        yield Figure(f"{point}.median.{backend}", summary.median, "min", limit=everyone.median)
                        yield Figure(f"{point}.messages.{backend}", summary.messages, "messages",
                                     limit=everyone.messages)
    if not options.quick:
        draw(curve, runs, SWEEP_RUNS)


def _simulate(backend: str, policy: EscalationPolicy, need: int, runs: int, *, urgent: bool = False) -> list[Outcome]:
    with fresh_engine(backend) as (_, engine):
        requester_id, index_of = populate(engine)
        return simulate_policy(session_factory(engine), requester_id, index_of, policy=policy, need=need, runs=runs,
                               seed=SEED, urgent=urgent)


def _figures(prefix: str, backend: str, summary: Summary, baseline: Summary | None, *, targets: bool = False):
    limit = baseline is not None
    yield Figure(f"{prefix}.median.{backend}", summary.median, "min",
                 limit=baseline.median if limit else None, target=MEDIAN_TARGET if targets else None)
    yield Figure(f"{prefix}.p90.{backend}", summary.p90, "min", limit=baseline.p90 if limit else None)
    yield Figure(f"{prefix}.messages.{backend}", summary.messages, "messages",
                 limit=baseline.messages if limit else None, target=MESSAGES_TARGET if targets else None)
    yield Figure(f"{prefix}.formed.{backend}", summary.formed, "share")


def draw(curve: dict[int, dict[str, tuple[Summary, str]]], runs: int, sweep_runs: int) -> None:
    """Median time to quorum against messages per quorum, one panel per quorum size, with
    the target region (at most half of inviting everyone's messages, at most 1.3x its time)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.patches import Rectangle

    figure, axes = pyplot.subplots(1, len(curve), figsize=(11, 4.6), sharey=True)
    styles = {"sweep": ("o", "tab:blue"), "sweep, calls at once": ("o", "tab:orange"), "default": ("*", "tab:red"),
              "urgent": ("D", "tab:orange"), "everyone": ("s", "tab:green"), "call tree": ("^", "tab:purple")}
    legend = {"default": "default +1/3", "urgent": "urgent +4, calls at once"}
    swept_kinds = ("sweep", "sweep, calls at once")
    for axis, (need, points) in zip(axes, curve.items()):
        everyone = points["everyone"][0]
        axis.add_patch(Rectangle((0, 0), everyone.messages * MESSAGES_TARGET, everyone.median * MEDIAN_TARGET,
                                 color="tab:green", alpha=0.12, label="target region"))
        policies = sorted((s.messages, s.median) for s, kind in points.values()
                          if kind in (*swept_kinds, "default", "urgent"))
        frontier = [p for p in policies if not any(q[0] <= p[0] and q[1] < p[1] for q in policies)]
        axis.plot([x for x, _ in frontier], [y for _, y in frontier], color="tab:blue", alpha=0.35, linewidth=1)
        labelled: set[str] = set()
        for label, (summary, kind) in points.items():
            marker, colour = styles[kind]
            swept_point = kind in swept_kinds
            name = kind if swept_point else legend.get(kind, label)
            axis.scatter(summary.messages, summary.median, marker=marker, color=colour, s=30 if swept_point else 110,
                         zorder=3, label=None if name in labelled else name)
            labelled.add(name)
            if swept_point:
                axis.annotate(label.removesuffix(" at once"), (summary.messages, summary.median),
                              textcoords="offset points", xytext=(4, 3), fontsize=6.5, color=colour)
        axis.set_title(f"{need}-person quorum", fontsize=10)
        axis.set_xlabel("messages per quorum (SMS + calls)")
        axis.set_xlim(0, everyone.messages * 1.08)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("median minutes to form")
    axes[0].legend(loc="upper right", fontsize=8)
    figure.suptitle(f"Escalation trade-off ({runs} simulated requests per point, sweep {sweep_runs}). "
                    "'+extra/minutes' = first wave need+extra;\nblue: calls and next wave after minutes; "
                    "orange: every wave texted and called at once, next wave after minutes", fontsize=9)
    figure.tight_layout()
    figure.savefig(PLOT, dpi=110)
    pyplot.close(figure)
