"""The time of one jailed evaluation of an instant evaluator (bench/problems/instant).

    .venv/bin/python bench/jail.py [--repeats 30]

Everything the evaluation tool does per candidate: scratch folder, sandbox start, the trusted
evaluator's import, the candidate in its nested jail, the result read back. Prints the median,
the 10th and the 90th percentile, and the sandbox in use.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from adrs.tools.evaluation import EvaluationTool
from adrs.tools.isolation import current
from adrs.tools.problem import Problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    problem = Problem.load(Path(__file__).resolve().parent / "problems" / "instant")
    tool = EvaluationTool(problem)
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        result = tool.evaluate(problem.initial_source)
        times.append(time.perf_counter() - started)
        if not result.ok:
            raise SystemExit(f"evaluation failed: {result.summary_line()}")
    deciles = statistics.quantiles(times, n=10)
    print(f"sandbox: {current()}")
    print(f"one jailed evaluation of an instant evaluator, {args.repeats} runs: median "
          f"{statistics.median(times) * 1e3:.1f} ms (p10 {deciles[0] * 1e3:.1f}, "
          f"p90 {deciles[-1] * 1e3:.1f})")


if __name__ == "__main__":
    main()
