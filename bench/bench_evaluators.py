"""Time one full evaluation of each problem's baseline through the real evaluation tool.

    .venv/bin/python bench/bench_evaluators.py [--repeats N] [PROBLEM ...]

Prints, per problem, the median wall time of a train evaluation and of a held-out evaluation
(sandbox start, evaluator, candidate child process and scoring included) and the baseline's score.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from adrs.tools.evaluation import EvaluationTool
from adrs.tools.problem import Problem

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"


def timed(tool: EvaluationTool, source: str, split: str, repeats: int) -> tuple[float, float]:
    times, score = [], float("nan")
    for _ in range(repeats):
        started = time.perf_counter()
        result = tool.evaluate(source, split=split)
        times.append(time.perf_counter() - started)
        if not result.ok:
            raise SystemExit(f"baseline evaluation failed: {result.summary_line()}")
        score = result.combined_score
    return statistics.median(times), score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problems", nargs="*", help="names under problems/ (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    names = args.problems or sorted(p.name for p in PROBLEMS.iterdir() if (p / "problem.toml").is_file())
    print(f"{'problem':<18} {'train s':>8} {'heldout s':>10} {'train score':>12} {'heldout score':>14}")
    for name in names:
        problem = Problem.load(PROBLEMS / name)
        tool = EvaluationTool(problem)
        train_s, train_score = timed(tool, problem.initial_source, "train", args.repeats)
        held_s, held_score = timed(tool, problem.initial_source, "heldout", args.repeats)
        print(f"{name:<18} {train_s:>8.3f} {held_s:>10.3f} {train_score:>12.4f} {held_score:>14.4f}")


if __name__ == "__main__":
    main()
