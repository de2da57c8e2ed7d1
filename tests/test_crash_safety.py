"""SIGKILL the real `adrs run` process at seeded random points; `adrs resume` must finish the run.

Each trial starts `python -m adrs run` on the toy problem, waits until the run directory is
complete, lets it work for a seeded random time and kills its whole process group with SIGKILL.
`adrs resume` must then complete the budget with nothing lost, doubled or half-written, a clean
`git fsck`, and the very history of a run that was never interrupted.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adrs.cli import app
from adrs.workspace.repository import RunRepository

TRIALS = 10
SEED = 20240611
ITERATIONS = 8
WIDTH = 2
RUN_SEED = 4
REPO_ROOT = Path(__file__).resolve().parents[1]


def history(run_dir: Path) -> list[tuple]:
    """Lineage, programs and messages (dates aside): what two equal runs share."""
    repo = RunRepository.open(run_dir)
    records = repo.records()
    keys = {r.id: r.key for r in records}
    return [(r.key, keys.get(r.parent_id), repo.program_source(r.id), r.message.to_text())
            for r in records]


def run_args(toy_dir: Path, run_dir: Path) -> list[str]:
    return ["run", str(toy_dir), "--iterations", str(ITERATIONS), "--width", str(WIDTH),
            "--seed", str(RUN_SEED), "--run-dir", str(run_dir)]


def start_and_kill(toy_dir: Path, run_dir: Path, delay: float) -> str:
    """Start `adrs run`, SIGKILL it `delay` s after its run directory exists; its output so far."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    process = subprocess.Popen([sys.executable, "-m", "adrs", *run_args(toy_dir, run_dir)],
                               cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(line)
        if line.startswith("run directory:"):
            break
    try:
        process.wait(timeout=delay)  # it may finish first: then there is nothing to kill
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    process.stdout.close()
    return "".join(seen)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, list[tuple]]:
    """The uninterrupted run with the same seed."""
    toy = Path(__file__).parent / "fixtures" / "problems" / "toy"
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    result = CliRunner().invoke(app, run_args(toy, run_dir), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return run_dir, history(run_dir)


@pytest.mark.parametrize("trial", range(TRIALS))
def test_a_run_killed_at_a_random_point_resumes_to_the_same_history(trial, toy_dir, tmp_path,
                                                                     reference):
    delay = random.Random(f"{SEED}:{trial}").uniform(0.0, 1.5)
    run_dir = tmp_path / "run"
    output = start_and_kill(toy_dir, run_dir, delay)
    assert "run directory:" in output, output
    result = CliRunner().invoke(app, ["resume", str(run_dir)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"stopped: completed {ITERATIONS} iterations" in result.output
    repo = RunRepository.open(run_dir)
    keys = [record.key for record in repo.records()]
    assert len(keys) == len(set(keys)) == 1 + ITERATIONS * WIDTH  # nothing lost or doubled
    reachable = subprocess.run(["git", "-C", str(run_dir), "rev-list", "--all", "--count"],
                               capture_output=True, text=True, check=True).stdout
    assert int(reachable) == 2 + ITERATIONS * WIDTH  # root, baseline, candidates: nothing extra
    fsck = subprocess.run(["git", "-C", str(run_dir), "fsck", "--full", "--strict"],
                          capture_output=True, text=True)
    assert fsck.returncode == 0 and "error" not in fsck.stderr.lower(), fsck.stderr
    for record in repo.records()[1:]:  # every message whole: plan, verdict, trailers
        assert record.message.hypothesis and record.message.verdict and record.iteration >= 1
    assert history(run_dir) == reference[1]
