"""The report's three plots, drawn with matplotlib's object API on the Agg canvas (no display,
no pyplot global state). Each function takes plain figures and writes one PNG."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from adrs.report.series import OUTCOMES, Evaluation, best_so_far

COLOURS = {"evaluated": "#2e9d5b", "rejected": "#e5a11a", "failed": "#d23c3c",
           "baseline": "#7f8c8d", "best": "#2f6fdb", "heldout": "#8e44ad"}
DPI = 110


def score_plot(history: Sequence[Evaluation], heldout: Mapping[int, float], path: Path) -> Path:
    """Train score of every evaluation (dots; failed ones as crosses on the axis), the best so
    far (a step line), and the held-out scores the run measured (diamonds), by evaluation."""
    figure = Figure(figsize=(8, 4.2), dpi=DPI)
    axes = figure.subplots()
    scored = [e for e in history if e.score is not None]
    axes.scatter([e.index for e in scored], [e.score for e in scored], s=16,
                 color=COLOURS["evaluated"], label="train score of a candidate")
    line = best_so_far((e.index, e.score) for e in history)
    if line:
        xs, ys = zip(*line)
        last = history[-1].index if history else xs[-1]
        axes.step([*xs, last], [*ys, ys[-1]], where="post", color=COLOURS["best"], linewidth=2,
                  label="best train score so far")
    failed = [e.index for e in history if e.score is None]
    if failed:
        floor = min((e.score for e in scored), default=0.0)
        axes.scatter(failed, [floor] * len(failed), marker="x", color=COLOURS["failed"],
                     label="failed evaluation")
    if heldout:
        xs, ys = zip(*sorted(heldout.items()))
        axes.plot(xs, ys, linestyle="--", marker="D", markersize=8, color=COLOURS["heldout"],
                  label="held-out score (baseline, best)")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("evaluation")
    axes.set_ylabel("combined_score (higher is better)")
    axes.set_title("Score over evaluations: train against held-out")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    return _save(figure, path)


def workload_plot(baseline: Mapping[str, float], best: Mapping[str, float], best_key: str,
                  path: Path) -> Path:
    """Per-workload score of the baseline and of the best, one pair of bars per workload,
    sorted by the best's gain (largest gain at the top)."""
    names = sorted(set(baseline) & set(best), key=lambda n: (best[n] - baseline[n], n))
    figure = Figure(figsize=(8, max(2.5, 0.32 * len(names) + 1.2)), dpi=DPI)
    axes = figure.subplots()
    rows = range(len(names))
    axes.barh([y + 0.2 for y in rows], [baseline[n] for n in names], height=0.4,
              color=COLOURS["baseline"], label="baseline")
    axes.barh([y - 0.2 for y in rows], [best[n] for n in names], height=0.4,
              color=COLOURS["best"], label=f"best ({best_key})")
    axes.set_yticks(list(rows), names, fontsize=8)
    axes.set_xlabel("workload score (higher is better)")
    axes.set_title("Best against baseline, per workload")
    axes.grid(axis="x", alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    return _save(figure, path)


def outcome_plot(table: Mapping[int, Mapping[str, int]], path: Path) -> Path:
    """Candidates per iteration, stacked by outcome: evaluated, rejected, failed.

    Each outcome is one filled step outline over every iteration (an iteration without
    candidates counts zero), not a bar per iteration: thousands of bars took seconds to draw."""
    figure = Figure(figsize=(8, 3.6), dpi=DPI)
    axes = figure.subplots()
    iterations = list(range(min(table), max(table) + 1)) if table else []
    edges = [i - 0.5 for i in iterations] + ([iterations[-1] + 0.5] if iterations else [])
    bottom = [0] * len(iterations)
    for outcome in OUTCOMES:
        counts = [table.get(i, {}).get(outcome, 0) for i in iterations]
        if not any(counts):
            continue  # an outcome that never happened gets no area and no legend entry
        top = [b + c for b, c in zip(bottom, counts)]
        axes.stairs(top, edges, baseline=bottom, fill=True, color=COLOURS[outcome],
                    label=outcome)
        bottom = top
    axes.set_xlabel("iteration")
    axes.set_ylabel("candidates")
    axes.set_title("Outcomes per iteration")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, max(bottom, default=1) * 1.35 + 0.5)  # room for the legend above the bars
    axes.legend(loc="upper left", ncols=3, fontsize=8)
    return _save(figure, path)


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path
