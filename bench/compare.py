"""adrs against OpenEvolve on the same loopback model server, evaluator and settings.

    python3 -m venv bench/.venv-openevolve && bench/.venv-openevolve/bin/pip install openevolve
    .venv/bin/python bench/compare.py [--delay 1.0] [--parallel 1 4 16] [--rounds 3] [--team lean]
    .venv/bin/python bench/compare.py --overhead [--programs 100 1000] [--team lean]
    (either with --repeat N: N runs of each tool per figure, alternating; the medians)

Both tools run against bench/loopback.py, which answers every request after `--delay` seconds,
with the same evaluator file, the same number of candidates and K candidates in flight (adrs
`--parallel K`; OpenEvolve `evaluator.parallel_evaluations: K`). adrs runs in this process with
its real model client and its jailed evaluation tool; OpenEvolve runs `openevolve-run` in its
own venv. Rates come from the moments candidates complete (adrs: each commit; OpenEvolve: its
"Iteration N ... completed" log lines): (n - K) / (time of the n-th - time of the K-th), which
leaves start-up, the baseline and the first wave out.

adrs runs `--team lean` by default: one model call per candidate (the planner writes the edit),
as OpenEvolve's one prompt; `--team full` asks four (planner, coder, critic, evaluator).
Throughput mode (bench/problems/fixed_cost: 0.5 s per evaluation): candidates per second, and the
share of the ideal K / (model calls per candidate x delay + 0.5 s) reached.
Overhead mode (bench/problems/instant, delay 0, K = 1): the whole cost of one candidate, adrs's
with its jailed evaluation and its model round trips, OpenEvolve's unjailed with its one, over
the whole run and over its last 100 candidates (what a candidate costs once the run holds that
many programs; OpenEvolve's grows with them).
Without bench/.venv-openevolve the OpenEvolve columns say "not installed".
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OPENEVOLVE = BENCH / ".venv-openevolve" / "bin" / "openevolve-run"
_RUNS = "ADRS_BENCH_RUNS"
CALLS = {"lean": 1, "full": 4, "openevolve": 1}  # model calls per candidate
OE_CONFIG = """\
max_iterations: {iterations}
checkpoint_interval: 100000
log_level: INFO
random_seed: 0
llm:
  api_base: {url}
  api_key: bench
  models: [{{name: bench-model, weight: 1.0}}]
  timeout: 60
  retries: 1
  retry_delay: 1
database:
  num_islands: 3
  random_seed: 0
evaluator:
  parallel_evaluations: {parallel}
  cascade_evaluation: false
  timeout: 20
"""


def runs_folder() -> Path:
    """A fresh folder for this invocation's runs (and its child processes'), under runs/ of this
    checkout, where `adrs run` puts runs; removed when the invocation ends, not run by run.
    Deleting a run's thousands of files makes creating files nearby slow for a while on the
    development VM (about 1 ms each instead of 0.05 ms), which would charge one run for the
    cleanup of the one before."""
    if os.environ.get(_RUNS):
        return Path(os.environ[_RUNS])
    folder = Path(tempfile.mkdtemp(prefix="bench-", dir=_mkdir(ROOT / "runs")))
    os.environ[_RUNS] = str(folder)  # inherited by child processes
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _mkdir(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    return folder


class Loopback:
    def __init__(self, delay: float) -> None:
        self.process = subprocess.Popen([sys.executable, str(BENCH / "loopback.py"), "--delay",
                                         str(delay)], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def close(self) -> None:
        self.process.terminate()
        self.process.wait()


def adrs_times(problem: str, url: str, parallel: int, candidates: int,
               team: str) -> list[float]:
    """When each candidate of an adrs run was committed (model brain, jailed evaluations)."""
    from adrs.graph.runner import create_run, execute
    from adrs.graph.settings import ModelSettings, RunSettings
    from adrs.tools.problem import Problem

    os.environ["OPENAI_API_KEY"] = "bench"  # the loopback server ignores it
    others = "bench-model" if team == "full" else "offline"  # as `adrs run --team` does
    # As many requests in flight as candidates (a loopback server counts as local: one by default).
    model = ModelSettings(planner="bench-model", coder="bench-model", critic=others,
                          evaluator=others, base_url=url, record=False, team=team,
                          max_concurrent_requests=parallel)
    settings = RunSettings.build(problem=problem, brain="model", model=model, width=parallel,
                                 iterations=max(1, candidates // parallel))
    times: list[float] = []
    scratch = tempfile.mkdtemp(dir=runs_folder())
    create_run(Problem.load(BENCH / "problems" / problem), settings, Path(scratch) / "run")
    execute(Path(scratch) / "run", on_update=lambda node, _: times.append(time.time())
            if node == "commit" else None)
    return times


def openevolve_times(problem: str, url: str, parallel: int, candidates: int) -> list[float] | None:
    """When each iteration of an OpenEvolve run completed, from its log."""
    if not OPENEVOLVE.is_file():
        return None
    scratch = tempfile.mkdtemp(dir=runs_folder())
    config = Path(scratch) / "config.yaml"
    config.write_text(OE_CONFIG.format(iterations=candidates, url=url, parallel=parallel))
    folder = BENCH / "problems" / problem
    done = subprocess.run([str(OPENEVOLVE), str(folder / "initial.py"),
                           str(folder / "evaluator.py"), "--config", str(config),
                           "--iterations", str(candidates), "--output", str(Path(scratch) / "out")],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"openevolve-run failed: {(done.stderr or done.stdout)[-600:]}")
    stamps = re.findall(r"^(\S+ \S+) - INFO - Iteration \d+: .* completed in",
                        done.stdout + done.stderr, flags=re.MULTILINE)
    return [datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f").timestamp() for s in stamps]


def rate(times: list[float] | None, parallel: int, last: int | None = None) -> float | None:
    """Candidates per second once K are in flight: (n - K) / (t_n - t_K); with `last`, over
    the last `last` candidates only, (t_n - t_{n-last}): the rate when the run holds n programs."""
    if not times or len(times) <= parallel:
        return None
    ordered = sorted(times)
    first = parallel - 1 if last is None else max(parallel - 1, len(ordered) - 1 - last)
    return (len(ordered) - 1 - first) / (ordered[-1] - ordered[first])


def throughput(delay: float, levels: list[int], rounds: int, team: str, repeat: int) -> None:
    server = Loopback(delay)
    try:
        print(f"throughput, fixed_cost (0.5 s per evaluation), model delay {delay} s, "
              f"adrs --team {team}" + (f", median of {repeat} runs each" if repeat > 1 else "") + "\n")
        print(f"{'K':>3} {'adrs cand/s':>12} {'of ideal':>9} {'OpenEvolve cand/s':>18} "
              f"{'of ideal':>9} {'adrs/OE':>8}" + ("  (per run)" if repeat > 1 else ""))
        for k in levels:
            n = k * (rounds + 1)
            pairs = [(rate(adrs_times("fixed_cost", server.url, k, n, team), k),
                      rate(openevolve_times("fixed_cost", server.url, k, n), k))
                     for _ in range(repeat)]  # alternating, so that both meet the same machine
            mine = statistics.median(a for a, _ in pairs)
            ideal = {tool: k / (CALLS[tool] * delay + 0.5) for tool in CALLS}
            line = f"{k:>3} {mine:>12.2f} {mine / ideal[team]:>9.0%} "
            if pairs[0][1] is None:
                print(line + f"{'not installed':>18}")
                continue
            theirs = statistics.median(b for _, b in pairs)
            # Three decimals: at parity the difference is a few tenths of a percent.
            each = " ".join(f"{a / b:.3f}" for a, b in pairs) if repeat > 1 else ""
            print(line + f"{theirs:>18.2f} {theirs / ideal['openevolve']:>9.0%} "
                         f"{mine / theirs:>8.3f}  {each}".rstrip())
    finally:
        server.close()


def overhead(programs: list[int], team: str, repeat: int) -> None:
    server = Loopback(0.0)
    try:
        print("whole cost per candidate, instant evaluator, model delay 0, one at a time\n"
              f"(adrs --team {team}: jailed evaluation, {CALLS[team]} model round trip(s); "
              "OpenEvolve: unjailed, one)\n"
              "ms per candidate over the whole run, then over its last 100 candidates (the cost "
              "when the run holds that many programs); adrs/OE of the latter"
              + (f"; median of {repeat} runs each" if repeat > 1 else "") + "\n")
        print(f"{'programs':>8} {'adrs: run':>10} {'last 100':>9} {'OpenEvolve: run':>16} "
              f"{'last 100':>9} {'adrs/OE':>8}")
        for n in programs:
            runs = [(adrs_times("instant", server.url, 1, n, team),
                     openevolve_times("instant", server.url, 1, n)) for _ in range(repeat)]

            def cost(times: list[float] | None, last: int | None = None) -> float:
                return 1e3 / rate(times, 1, last=last)

            mine = [statistics.median(cost(a, last) for a, _ in runs) for last in (None, 100)]
            line = f"{n:>8} {mine[0]:>10.1f} {mine[1]:>9.1f} "
            if runs[0][1] is None:
                print(line + f"{'not installed':>16}")
                continue
            theirs = [statistics.median(cost(b, last) for _, b in runs) for last in (None, 100)]
            print(line + f"{theirs[0]:>16.1f} {theirs[1]:>9.1f} {mine[1] / theirs[1]:>8.2f}")
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--parallel", type=int, nargs="*", default=[1, 4, 16])
    parser.add_argument("--rounds", type=int, default=3, help="extra candidates per slot")
    parser.add_argument("--overhead", action="store_true")
    parser.add_argument("--programs", type=int, nargs="*", default=[100, 1000])
    parser.add_argument("--team", choices=["lean", "full"], default="lean")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each tool per figure, alternating; medians are printed")
    args = parser.parse_args()
    if args.overhead:
        overhead(args.programs, args.team, args.repeat)
    else:
        throughput(args.delay, args.parallel, args.rounds, args.team, args.repeat)


if __name__ == "__main__":
    main()
