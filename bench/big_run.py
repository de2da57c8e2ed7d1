"""A finished run of many candidates, made in seconds, to measure the commands that read a run.

    .venv/bin/python bench/big_run.py --candidates 5000 --out DIR [--parallel 4]

Drives a real run on bench/problems/instant with the scripted model brain and the instant
evaluation tool (bench/scripted.py), as bench/overhead.py does, and prints the run's directory.
The run is kept: `adrs log DIR`, `show`, `report`, `serve` ... then read it like any other.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))


def build(candidates: int, out: Path, parallel: int) -> Path:
    from scripted import MODEL, InstantTool, scripted_team

    from adrs.graph.runner import create_run, execute
    from adrs.graph.settings import RunSettings
    from adrs.tools.problem import Problem

    problem = Problem.load(BENCH / "problems" / "instant")
    settings = RunSettings.build(problem="instant", iterations=max(1, candidates // parallel),
                                 width=parallel, brain="model", model=MODEL)
    create_run(problem, settings, out)
    execute(out, team=scripted_team(out), tool=InstantTool())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=5000)
    parser.add_argument("--out", type=Path, required=True, help="The run directory (must not exist).")
    parser.add_argument("--parallel", type=int, default=1, help="Slots (settings width).")
    args = parser.parse_args()
    if args.out.exists():
        sys.exit(f"error: {args.out} already exists")
    start = time.perf_counter()
    run = build(args.candidates, args.out, args.parallel)
    print(f"{run}  ({args.candidates} candidates, width {args.parallel}, "
          f"{time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
