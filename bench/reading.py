"""What the commands that read a run cost as it grows: wall time and peak memory of each.

    .venv/bin/python bench/reading.py [--sizes 500 5000] [--runs DIR]

For each size, builds a finished run of that many candidates (bench/big_run.py: scripted model,
instant evaluator; width 1) and one of width 4 to compare it with, unless --runs already holds
them (`<size>` and `<size>-w4`, kept there for the next time). Then times each command in a
fresh process (`adrs log`, `show`, `best`, `report`, `compare`, `resume` of the finished run),
with its CPU time and peak resident memory from the kernel (wait4), and the viewer's endpoints over loopback,
each asked twice (the first request reads the run; the second finds most of it read).
Every command's time includes the start of Python and the import of adrs: compare with
`adrs --help`, the first line.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ADRS = [sys.executable, "-m", "adrs"]


def ensure_run(folder: Path, name: str, candidates: int, parallel: int) -> Path:
    run = folder / name
    if not run.exists():
        subprocess.run([sys.executable, str(BENCH / "big_run.py"), "--candidates", str(candidates),
                        "--parallel", str(parallel), "--out", str(run)], check=True,
                       stdout=subprocess.DEVNULL)
    return run


def timed(args: list[str]) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak MB, exit code) of one command in its own process; its output is
    thrown away. CPU (user + system) moves less than wall time on a shared machine."""
    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return (time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
            child.returncode)


def commands(run: Path, other: Path, scratch: Path) -> list[tuple[str, list[str]]]:
    middle = _middle(run)
    return [("--help", ["--help"]), ("log", ["log", str(run)]),
            ("log --top 10", ["log", str(run), "--top", "10"]),
            ("log --wide", ["log", str(run), "--wide"]),
            ("log --status evaluated --island 1", ["log", str(run), "--status", "evaluated",
                                                   "--island", "1"]),
            ("show best", ["show", str(run), "best"]), (f"show {middle}", ["show", str(run), middle]),
            ("show baseline best", ["show", str(run), "baseline", "best"]),
            ("best", ["best", str(run)]),
            ("report", ["report", str(run), "--out", str(scratch / "report")]),
            ("compare (with the width-4 run)", ["compare", str(run), str(other)]),
            ("resume (finished)", ["resume", str(run)])]


def _middle(run: Path) -> str:
    """The key of the middle candidate (slot 0)."""
    listed = subprocess.run(["git", "-C", str(run), "for-each-ref", "--format=%(refname:lstrip=3)",
                             "refs/adrs/evaluated/"], capture_output=True, text=True, check=True)
    keys = sorted(key for key in listed.stdout.split() if key.endswith("-s0"))
    return keys[len(keys) // 2]


def viewer(run: Path, other: Path) -> list[tuple[str, float, float, int]]:
    """(endpoint, first s, second s, bytes) for each endpoint of `adrs serve`."""
    server = subprocess.Popen([*ADRS, "serve", str(run), "--port", "0", "--compare", str(other)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "COLUMNS": "200"})
    try:
        assert server.stdout is not None
        url = re.search(r"http://\S+/", server.stdout.readline())
        if url is None:
            sys.exit("error: adrs serve did not say where it listens")
        base, middle = url.group(0).rstrip("/"), _middle(run)
        _wait_for(base)
        rows = []
        for path in ("/", "/static/viewer.js", "/api/run", "/api/candidates",
                     f"/api/candidates/{middle}", "/api/compare"):
            times, size = [], 0
            for _ in range(2):
                start = time.perf_counter()
                with urllib.request.urlopen(base + path) as response:
                    size = len(response.read())
                times.append(time.perf_counter() - start)
            rows.append((path, times[0], times[1], size))
        return rows
    finally:
        server.terminate()
        server.wait()


def _wait_for(base: str) -> None:
    """The address is printed before uvicorn listens: wait until it answers (at most 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/favicon.ico"):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[500, 5000])
    parser.add_argument("--runs", type=Path, help="Where the runs are kept (default: a "
                                                  "temporary folder, removed at the end).")
    args = parser.parse_args()
    folder = args.runs or Path(tempfile.mkdtemp(prefix="adrs-reading-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for size in args.sizes:
            run = ensure_run(folder, str(size), size, 1)
            other = ensure_run(folder, f"{size}-w4", size, 4)
            scratch = Path(tempfile.mkdtemp(prefix="adrs-report-"))
            print(f"\n{size} candidates ({run})\n\n{'command':<36} {'wall s':>6} {'CPU s':>6} "
                  f"{'peak MB':>8}")
            for label, argv in commands(run, other, scratch):
                seconds, cpu, peak, code = timed([*ADRS, *argv])
                print(f"{label:<36} {seconds:>6.2f} {cpu:>6.2f} {peak:>8.0f}"
                      + (f"  exit {code}" if code else ""))
            shutil.rmtree(scratch, ignore_errors=True)
            print(f"\n{'viewer endpoint':<36} {'first s':>8} {'again s':>8} {'kB':>8}")
            for path, first, again, size_bytes in viewer(run, other):
                print(f"{path:<36} {first:>8.3f} {again:>8.3f} {size_bytes / 1024:>8.0f}")
    finally:
        if args.runs is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
