"""What the offline brain finds on each problem within a fixed budget.

    .venv/bin/python bench/offline_search.py [--iterations 20] [--width 2] [--seed 0] [PROBLEM ...]

Runs `adrs run PROBLEM --iterations N --width W --seed S` for each problem into a temporary
directory and prints a markdown table: baseline and best combined_score on train and held-out
workloads, the held-out gap (best on train minus best on held-out), the gain over the baseline
on each split (a gain kept on held-out workloads generalises; one seen only on train is fitted
to it) and the wall time. docs/problems.md quotes its output.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from adrs.graph.runner import create_run, execute
from adrs.graph.settings import RunSettings
from adrs.tools.problem import Problem

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problems", nargs="*")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--width", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    names = args.problems or sorted(p.name for p in PROBLEMS.iterdir() if (p / "problem.toml").is_file())
    print(f"budget: {args.iterations} iterations x {args.width} candidates, seed {args.seed}\n")
    print("| problem | train: baseline | train: best | held-out: baseline | held-out: best "
          "| held-out gap | gain: train / held-out | wall time |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        problem = Problem.load(PROBLEMS / name)
        settings = RunSettings.build(problem=name, iterations=args.iterations,
                                     width=args.width, seed=args.seed)
        with tempfile.TemporaryDirectory() as scratch:
            started = time.perf_counter()
            create_run(problem, settings, Path(scratch) / "run")
            report = execute(Path(scratch) / "run")["report"]
            seconds = time.perf_counter() - started
        train, held = report["train"], report["heldout"]
        figures = [train["baseline"]["combined_score"], train["best"]["combined_score"],
                   held["baseline"].get("combined_score", float("nan")),
                   held["best"].get("combined_score", float("nan"))]
        gains = f"{figures[1] - figures[0]:+.4f} / {figures[3] - figures[2]:+.4f}"
        figures.append(figures[1] - figures[3])
        print(f"| {name} | " + " | ".join(f"{x:.4f}" for x in figures)
              + f" | {gains} | {seconds:.0f} s |")


if __name__ == "__main__":
    main()
