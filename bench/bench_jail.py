"""The time of one jailed evaluation of an instant evaluator: what isolation costs per candidate.

    .venv/bin/python bench/bench_jail.py [--evaluations 200] [--sandbox auto|bwrap|namespaces|...]

Builds a problem whose evaluator returns a constant, starts the evaluation tool (its warm worker
starts at the first evaluation, which is timed apart), then times `--evaluations` evaluations in a
row and prints the median and the 90th percentile. The target (issue 11) is a median of 25 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

INSTANT = "def evaluate(program_path, workloads=None):\n    return {'combined_score': 1.0}\n"
PROGRAM = "# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\n"


def make_problem(folder: Path) -> Path:
    folder.mkdir()
    (folder / "README.md").write_text("Instant evaluator for the jail benchmark.\n")
    (folder / "initial.py").write_text(PROGRAM)
    (folder / "evaluator.py").write_text(INSTANT)
    (folder / "problem.toml").write_text('name = "instant"\n[limits]\ntimeout_seconds = 10\n')
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=200)
    parser.add_argument("--sandbox", default=None, help="ADRS_SANDBOX for this run")
    args = parser.parse_args()
    if args.sandbox:
        os.environ["ADRS_SANDBOX"] = args.sandbox
    from adrs.tools.evaluation import EvaluationTool  # after ADRS_SANDBOX is set
    from adrs.tools.isolation import current
    from adrs.tools.problem import Problem

    with tempfile.TemporaryDirectory() as folder:
        problem = Problem.load(make_problem(Path(folder) / "instant"))
        with EvaluationTool(problem) as tool:
            began = time.perf_counter()
            first = tool.evaluate(PROGRAM)
            start_ms = (time.perf_counter() - began) * 1000
            assert first.ok, first.error
            times = []
            for _ in range(args.evaluations):
                began = time.perf_counter()
                result = tool.evaluate(PROGRAM)
                times.append((time.perf_counter() - began) * 1000)
                assert result.ok, result.error
    isolation = current()
    times.sort()
    print(f"isolation: {isolation.kind} ({isolation.reason})")
    print(f"first evaluation (starts the warm worker): {start_ms:.1f} ms")
    print(f"one jailed evaluation of an instant evaluator, {len(times)} runs: "
          f"median {statistics.median(times):.1f} ms, p90 {times[int(0.9 * len(times)) - 1]:.1f} ms")


if __name__ == "__main__":
    main()
