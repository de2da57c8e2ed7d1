"""adrs against OpenEvolve on the same loopback model server, evaluator and settings.

    python3 -m venv bench/.venv-openevolve && bench/.venv-openevolve/bin/pip install openevolve
    .venv/bin/python bench/compare.py [--delay 1.0] [--parallel 1 4 16] [--rounds 3]
    .venv/bin/python bench/compare.py --overhead [--programs 100 1000]

Both tools are driven through their command lines (`adrs run`, `openevolve-run`) against
bench/loopback.py, which answers every request after `--delay` seconds. Time per candidate is
measured as a difference of two runs of different lengths, which cancels start-up and baseline.

Throughput mode (bench/problems/fixed_cost: 0.5 s per evaluation): candidates per second with K
in flight, and the share of the ideal K / (model calls per candidate x delay + 0.5 s) reached;
adrs makes four model calls per candidate (planner, coder, critic, evaluator), OpenEvolve one.
Overhead mode (bench/problems/instant, delay 0): adrs's whole cost per candidate, jailed
evaluation included, against OpenEvolve's (unjailed) at the same number of programs.
Without bench/.venv-openevolve the OpenEvolve columns say "not installed".
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OPENEVOLVE = BENCH / ".venv-openevolve" / "bin" / "openevolve-run"
CALLS = {"adrs": 4, "openevolve": 1}  # model calls per candidate
OE_CONFIG = """\
max_iterations: {iterations}
checkpoint_interval: 100000
log_level: WARNING
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


class Loopback:
    def __init__(self, delay: float) -> None:
        self.process = subprocess.Popen([sys.executable, str(BENCH / "loopback.py"), "--delay",
                                         str(delay)], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def close(self) -> None:
        self.process.terminate()
        self.process.wait()


def adrs_seconds(problem: str, url: str, parallel: int, candidates: int) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        args = [str(ROOT / ".venv" / "bin" / "adrs"), "run", str(BENCH / "problems" / problem),
                "--model", "bench-model", "--base-url", url, "--no-record",
                "--parallel", str(parallel), "--iterations", str(max(1, candidates // parallel)),
                "--run-dir", str(Path(scratch) / "run")]
        return _timed(args, {**os.environ, "OPENAI_API_KEY": "bench"})


def openevolve_seconds(problem: str, url: str, parallel: int, candidates: int) -> float | None:
    if not OPENEVOLVE.is_file():
        return None
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "config.yaml"
        config.write_text(OE_CONFIG.format(iterations=candidates, url=url, parallel=parallel))
        folder = BENCH / "problems" / problem
        return _timed([str(OPENEVOLVE), str(folder / "initial.py"), str(folder / "evaluator.py"),
                       "--config", str(config), "--iterations", str(candidates),
                       "--output", str(Path(scratch) / "out")], dict(os.environ))


def _timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{Path(args[0]).name} failed: {(done.stderr or done.stdout)[-600:]}")
    return time.perf_counter() - started


def per_candidate(run, problem: str, url: str, parallel: int, short: int, long: int) -> float | None:
    first = run(problem, url, parallel, short)
    second = run(problem, url, parallel, long)
    return None if first is None or second is None else (second - first) / (long - short)


def throughput(delay: float, levels: list[int], rounds: int) -> None:
    server = Loopback(delay)
    try:
        print(f"throughput, fixed_cost (0.5 s per evaluation), model delay {delay} s\n")
        print(f"{'K':>3} {'adrs cand/s':>12} {'of ideal':>9} {'OpenEvolve cand/s':>18} "
              f"{'of ideal':>9} {'adrs/OE':>8}")
        for k in levels:
            rates = {}
            for tool, run in (("adrs", adrs_seconds), ("openevolve", openevolve_seconds)):
                seconds = per_candidate(run, "fixed_cost", server.url, k, k, k * (rounds + 1))
                rates[tool] = None if seconds is None else 1.0 / seconds
            ideal = {tool: k / (CALLS[tool] * delay + 0.5) for tool in CALLS}
            oe = rates["openevolve"]
            print(f"{k:>3} {rates['adrs']:>12.2f} {rates['adrs'] / ideal['adrs']:>9.0%} "
                  + (f"{oe:>18.2f} {oe / ideal['openevolve']:>9.0%} {rates['adrs'] / oe:>8.2f}"
                     if oe else f"{'not installed':>18}"))
    finally:
        server.close()


def overhead(programs: list[int]) -> None:
    server = Loopback(0.0)
    try:
        print("whole cost per candidate, instant evaluator, model delay 0, one at a time\n"
              "(adrs: jailed evaluation and four model round trips; OpenEvolve: unjailed, one)\n")
        print(f"{'programs':>8} {'adrs ms':>8} {'OpenEvolve ms':>14} {'adrs/OE':>8}")
        for n in programs:
            a = per_candidate(adrs_seconds, "instant", server.url, 1, 10, n)
            o = per_candidate(openevolve_seconds, "instant", server.url, 1, 10, n)
            print(f"{n:>8} {a * 1e3:>8.1f} " + (f"{o * 1e3:>14.1f} {a / o:>8.2f}" if o
                                                else f"{'not installed':>14}"))
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--parallel", type=int, nargs="*", default=[1, 4, 16])
    parser.add_argument("--rounds", type=int, default=3, help="extra candidates per slot")
    parser.add_argument("--overhead", action="store_true")
    parser.add_argument("--programs", type=int, nargs="*", default=[100, 1000])
    args = parser.parse_args()
    if args.overhead:
        overhead(args.programs)
    else:
        throughput(args.delay, args.parallel, args.rounds)


if __name__ == "__main__":
    main()
