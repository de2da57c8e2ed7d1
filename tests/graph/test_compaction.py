"""A finished run packs its loose git objects once git's own threshold is passed."""

from __future__ import annotations

import subprocess

from adrs.graph.runner import create_run, execute
from adrs.graph.settings import RunSettings
from adrs.tools.problem import Problem
from tests.graph.test_run import history


def objects(run_dir) -> dict[str, int]:
    out = subprocess.run(["git", "count-objects", "-v"], cwd=run_dir, capture_output=True,
                         text=True, check=True).stdout
    return {key: int(value) for key, value in (line.split(": ") for line in out.splitlines())
            if value.strip().isdigit()}


def test_a_finished_run_packs_its_objects_and_reads_the_same(toy_dir, tmp_path):
    settings = RunSettings.build(problem="toy", iterations=3, width=2, seed=3)
    create_run(Problem.load(toy_dir), settings, tmp_path / "unpacked")
    execute(tmp_path / "unpacked")  # git's default threshold: nothing to pack yet
    assert objects(tmp_path / "unpacked")["packs"] == 0

    run_dir = tmp_path / "packed"
    create_run(Problem.load(toy_dir), settings, run_dir)
    subprocess.run(["git", "config", "gc.auto", "10"], cwd=run_dir, check=True)
    final = execute(run_dir)
    assert final["stop_reason"] == "completed 3 iterations"
    counts = objects(run_dir)
    assert counts["packs"] == 1 and counts["count"] < 10 < counts["in-pack"]
    assert history(run_dir) == history(tmp_path / "unpacked")  # the same programs, still readable
    assert execute(run_dir)["best_id"] == final["best_id"]  # and a run opens from the pack
