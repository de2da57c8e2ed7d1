"""Orchestration overhead per candidate, and the orchestrator's peak memory, as a run grows.

    .venv/bin/python bench/overhead.py [--sizes 100 1000 5000] [--parallel 1]

Each size runs in a fresh process: `adrs` on bench/problems/instant with the model brain
answered at once by scripted chat models and an instant evaluation tool (bench/scripted.py), so
the time between two commits is all orchestration: planning, prompts, critique, git, the program
database, the search strategy and LangGraph's checkpoints. Prints, per size, the median time per
candidate over the first 100, the middle 100 and the last 100 candidates and their ratio
last/first, the same for the CPU time of the process and its threads (less sensitive than wall
time to other work on a shared machine), the whole run's CPU per candidate with the git helper
processes (CPU+git, ms), and the process's peak resident memory.
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
sys.path.insert(0, str(BENCH))
from compare import runs_folder  # noqa: E402


def child(size: int, parallel: int) -> dict:
    sys.path.insert(0, str(BENCH))
    from scripted import InstantTool, scripted_team

    from adrs.graph.runner import create_run, execute
    from adrs.graph.settings import RunSettings
    from adrs.tools.problem import Problem

    problem = Problem.load(BENCH / "problems" / "instant")
    stamps: list[tuple[float, float]] = []  # (wall, CPU of this process and its threads)
    scratch = tempfile.mkdtemp(dir=runs_folder())
    run_dir = Path(scratch) / "run"
    settings = RunSettings.build(problem="instant", iterations=size // parallel, width=parallel,
                                 brain="model", model=json.loads(_model_json()))
    create_run(problem, settings, run_dir)
    before = _cpu()
    start = (time.perf_counter(), time.process_time())
    execute(run_dir, team=scripted_team(run_dir), tool=InstantTool(),
            on_update=lambda node, _: stamps.append((time.perf_counter(), time.process_time()))
            if node == "commit" else None)
    total = time.perf_counter() - start[0]
    cpu = _cpu() - before  # the run's helpers are reaped when execute closes the run
    figures = {"size": size, "total": total, "cpu_all": cpu / size,
               "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    for clock, name in ((0, "wall"), (1, "cpu")):
        gaps = [b[clock] - a[clock] for a, b in zip([start, *stamps], stamps)]
        middle, window = len(gaps) // 2, min(100, len(gaps))
        figures[name] = [statistics.median(part) for part in (
            gaps[:window], gaps[middle - window // 2: middle + window // 2], gaps[-window:])]
    return figures


def _cpu() -> float:
    """CPU seconds of this process, its threads and its finished children (git helpers)."""
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in used)


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
    print("median ms per candidate over the first, middle and last 100 candidates; wall clock, "
          "then CPU of the orchestrator's process\n")
    print(f"{'candidates':>10} {'wall: first':>12} {'middle':>7} {'last':>7} {'last/first':>10} "
          f"{'CPU: first':>11} {'middle':>7} {'last':>7} {'last/first':>10} {'total s':>8} "
          f"{'CPU+git':>8} {'peak MB':>8}")
    runs_folder()  # one folder for every size's run (the children's too), removed at the end
    for size in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--child", str(size), "--parallel",
                              str(args.parallel)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        (w1, w2, w3), (c1, c2, c3) = r["wall"], r["cpu"]
        print(f"{size:>10} {w1 * 1e3:>12.2f} {w2 * 1e3:>7.2f} {w3 * 1e3:>7.2f} {w3 / w1:>10.2f} "
              f"{c1 * 1e3:>11.2f} {c2 * 1e3:>7.2f} {c3 * 1e3:>7.2f} {c3 / c1:>10.2f} "
              f"{r['total']:>8.1f} {r['cpu_all'] * 1e3:>8.2f} {r['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main()
