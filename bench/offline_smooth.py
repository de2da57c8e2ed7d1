"""The offline brain's best score after a budget of evaluations on bench/problems/smooth8.

    .venv/bin/python bench/offline_smooth.py [--evaluations 400] [--parallel 4] [--seeds 0 1 2 3 4]

Eight constants, score 1 / (1 + squared distance to a hidden target); the baseline scores 0.057.
Runs `adrs run` with the offline brain (jailed evaluations included) once per seed and prints
each seed's best score and the median.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from adrs.graph.runner import create_run, execute
from adrs.graph.settings import RunSettings
from adrs.tools.problem import Problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=400)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    problem = Problem.load(Path(__file__).resolve().parent / "problems" / "smooth8")
    print(f"smooth8, offline brain, {args.evaluations} evaluations, --parallel {args.parallel}\n")
    print(f"{'seed':>4} {'best score':>11} {'evaluations':>12} {'wall s':>7}")
    best = []
    for seed in args.seeds:
        settings = RunSettings.build(problem="smooth8", seed=seed, width=args.parallel,
                                     iterations=args.evaluations // args.parallel)
        with tempfile.TemporaryDirectory() as scratch:
            started = time.perf_counter()
            create_run(problem, settings, Path(scratch) / "run")
            final = execute(Path(scratch) / "run")
        best.append(final["best_score"])
        print(f"{seed:>4} {final['best_score']:>11.4f} {final['evaluations']:>12} "
              f"{time.perf_counter() - started:>7.1f}")
    print(f"median best score: {statistics.median(best):.4f}")


if __name__ == "__main__":
    main()
