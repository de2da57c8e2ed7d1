"""Orchestration overhead per candidate, and the orchestrator's peak memory, as a run grows.

    .venv/bin/python bench/overhead.py [--sizes 100 1000 5000] [--parallel 1]

Each size runs in a fresh process: `adrs` on bench/problems/instant with the model brain
answered at once by scripted chat models and an instant evaluation tool (bench/scripted.py), so
the time between two commits is all orchestration: planning, prompts, critique, git, the program
database, the search strategy and LangGraph's checkpoints. Prints, per size, the median time per
candidate over the first 100, the middle 100 and the last 100 candidates, their ratio last/first,
and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def child(size: int, parallel: int) -> dict:
    sys.path.insert(0, str(BENCH))
    from scripted import InstantTool, scripted_team

    from adrs.graph.runner import create_run, execute
    from adrs.graph.settings import RunSettings
    from adrs.tools.problem import Problem

    problem = Problem.load(BENCH / "problems" / "instant")
    stamps: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = Path(scratch) / "run"
        settings = RunSettings.build(problem="instant", iterations=size // parallel, width=parallel,
                                     brain="model", model=json.loads(_model_json()))
        create_run(problem, settings, run_dir)
        started = time.perf_counter()
        execute(run_dir, team=scripted_team(run_dir), tool=InstantTool(),
                on_update=lambda node, _: stamps.append(time.perf_counter()) if node == "commit" else None)
        total = time.perf_counter() - started
    gaps = [b - a for a, b in zip([started, *stamps], stamps)]
    middle = len(gaps) // 2
    window = min(100, len(gaps))
    return {"size": size, "total": total, "first": statistics.median(gaps[:window]),
            "middle": statistics.median(gaps[middle - window // 2: middle + window // 2]),
            "last": statistics.median(gaps[-window:]),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _model_json() -> str:
    from scripted import MODEL
    return MODEL.model_dump_json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 1000, 5000])
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.parallel)))
        return
    print(f"orchestration overhead per candidate, --parallel {args.parallel}, instant evaluator, "
          "scripted model\n")
    print(f"{'candidates':>10} {'first 100 ms':>13} {'middle 100 ms':>14} {'last 100 ms':>12} "
          f"{'last/first':>10} {'total s':>8} {'peak MB':>8}")
    for size in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--child", str(size), "--parallel",
                              str(args.parallel)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{size:>10} {r['first'] * 1e3:>13.2f} {r['middle'] * 1e3:>14.2f} "
              f"{r['last'] * 1e3:>12.2f} {r['last'] / r['first']:>10.2f} {r['total']:>8.1f} "
              f"{r['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main()
