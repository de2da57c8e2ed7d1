"""Whole runs of the graph on the toy problem: commits, trailers, determinism, resume."""

from __future__ import annotations

import subprocess

import pytest

from adrs.graph.rundir import RunError, open_run
from adrs.graph.runner import create_run, execute
from adrs.graph.settings import RunSettings
from adrs.tools.problem import Problem
from adrs.workspace.repository import RunRepository
from tests.conftest import start_run
from tests.viewer.runs import model_run


def history(run_dir):
    """Everything two equal runs must share: lineage, programs, messages (dates aside)."""
    repo = RunRepository.open(run_dir)
    records = repo.records()
    by_id = {r.id: r.key for r in records}
    return [(r.key, by_id.get(r.parent_id), repo.program_source(r.id), r.message.to_text())
            for r in records]


def test_a_short_run_commits_every_candidate_with_its_figures(toy_dir, tmp_path):
    run_dir = tmp_path / "run"
    final = start_run(toy_dir, run_dir, iterations=3, width=2, seed=1)
    repo = RunRepository.open(run_dir)
    records = repo.records()
    assert [r.key for r in records] == ["i0000-s0", "i0001-s0", "i0001-s1", "i0002-s0",
                                        "i0002-s1", "i0003-s0", "i0003-s1"]
    ids = {r.id for r in records}
    for record in records[1:]:
        assert record.parent_id in ids  # derived from a program of the run
        assert record.message.hypothesis and record.message.verdict
        trailers = subprocess.run(["git", "-C", str(run_dir), "interpret-trailers", "--parse"],
                                  input=record.message.to_text(), capture_output=True,
                                  text=True, check=True).stdout
        assert f"Iteration: {record.iteration}" in trailers
        if record.status == "evaluated":
            assert f"Score: {record.score!r}" in trailers and record.message.findings
    assert final["iteration"] == 3 and final["stop_reason"] == "completed 3 iterations"
    best = max((r for r in records if r.score is not None), key=lambda r: r.score)
    assert final["best_score"] == best.score and repo.resolve("best") == final["best_id"]
    assert set(final["report"]["heldout"]) == {"baseline", "best"}
    assert "error" not in repo.fsck().lower()
    lineage = subprocess.run(["git", "-C", str(run_dir), "log", "--graph", "--format=%s"],
                             capture_output=True, text=True, check=True).stdout
    assert lineage.rstrip().endswith("Problem toy as given")


def test_one_seed_gives_one_history(toy_dir, tmp_path):
    start_run(toy_dir, tmp_path / "a", iterations=4, width=2, seed=7)
    start_run(toy_dir, tmp_path / "b", iterations=4, width=2, seed=7)
    start_run(toy_dir, tmp_path / "c", iterations=4, width=2, seed=8)
    assert history(tmp_path / "a") == history(tmp_path / "b")
    assert history(tmp_path / "a") != history(tmp_path / "c")


class Stop(Exception):
    pass


def test_a_run_stopped_midway_resumes_without_loss_or_duplicates(toy_dir, tmp_path):
    problem = Problem.load(toy_dir)
    settings = RunSettings.build(problem="toy", iterations=5, width=2, seed=3)
    run_dir = tmp_path / "run"
    create_run(problem, settings, run_dir)

    def stop_after_four(node, update):
        if node == "commit" and update["line"]["key"] == "i0002-s1":
            raise Stop

    with pytest.raises(Stop):
        execute(run_dir, on_update=stop_after_four)
    # Candidate 4 (i0002-s1) was planned from 1..2, so those are committed; the other slot's
    # candidate 3, and even its 5, may or may not be: slots commit as they finish.
    assert 1 + 3 <= len(RunRepository.open(run_dir).records()) <= 1 + 2 * 2 + 1
    final = execute(run_dir)
    assert final["iteration"] == 5
    keys = [r.key for r in RunRepository.open(run_dir).records()]
    assert len(keys) == len(set(keys)) == 1 + 5 * 2
    refs = subprocess.run(["git", "-C", str(run_dir), "rev-list", "--all", "--count"],
                          capture_output=True, text=True, check=True).stdout
    assert int(refs) == 1 + 1 + 5 * 2  # root, baseline, candidates: nothing extra
    # The resumed run is the run that was never stopped.
    start_run(toy_dir, tmp_path / "straight", iterations=5, width=2, seed=3)
    assert history(run_dir) == history(tmp_path / "straight")
    # A finished run resumes to itself.
    assert execute(run_dir)["iteration"] == 5


def test_a_second_process_on_one_run_is_refused(toy_dir, tmp_path):
    run_dir = tmp_path / "run"
    create_run(Problem.load(toy_dir), RunSettings.build(problem="toy", iterations=1), run_dir)
    with open_run(run_dir) as run, run.locked(), \
            pytest.raises(RunError, match="in use by another adrs process"):
        execute(run_dir)


def test_creating_over_an_existing_run_is_refused(toy_dir, tmp_path):
    run_dir = tmp_path / "run"
    start_run(toy_dir, run_dir, iterations=1)
    before = history(run_dir)
    with pytest.raises(RunError, match="already exists"):
        create_run(Problem.load(toy_dir), RunSettings.build(problem="toy", iterations=1), run_dir)
    assert history(run_dir) == before


def test_resume_clears_git_locks_left_by_a_killed_process(toy_dir, tmp_path):
    problem = Problem.load(toy_dir)
    run_dir = tmp_path / "run"
    create_run(problem, RunSettings.build(problem="toy", iterations=2, seed=1), run_dir)
    for stale in (".git/index.lock", ".git/refs/heads/best.lock"):
        (run_dir / stale).write_text("")
    final = execute(run_dir)
    assert final["iteration"] == 2 and not (run_dir / ".git/index.lock").exists()


def test_a_finished_model_run_resumes_to_its_end_without_a_model_or_a_jail(tmp_path, monkeypatch):
    """Nothing is left to do: resuming needs no API key, no team and no isolation probe."""
    run_dir, _ = model_run(tmp_path)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("adrs.graph.runner.require_isolation", lambda settings: pytest.fail(
        "a finished run probed the jail"))
    assert execute(run_dir)["stop_reason"] == "completed 2 iterations"
