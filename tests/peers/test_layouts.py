"""Which file plays which part (tools/layouts.py), and a run's copy loading the same way again."""

from __future__ import annotations

import pytest

from adrs.graph.runner import create_run
from adrs.graph.settings import RunSettings
from adrs.tools import layouts
from adrs.tools.layouts import LAYOUT_FILE
from adrs.tools.problem import Problem, ProblemError
from adrs.workspace.repository import RunRepository
from tests.peers.helpers import fixture

EVALUATOR = """
import runpy

def evaluate(path):
    value = runpy.run_path(path).get("VALUE")
    if value is None:
        return {"combined_score": 0.0, "error": "no VALUE yet"}
    return {"combined_score": float(value)}
"""


def test_a_snapshot_records_its_layout_and_loads_the_same(tmp_path):
    folder = fixture("skydiscover", tmp_path)
    problem = Problem.from_files(folder / "solution.py", folder / "grading" / "grade.py",
                                 folder / "search.yaml")
    problem.snapshot(tmp_path / "copy")
    assert (tmp_path / "copy" / LAYOUT_FILE).read_text() == (
        'kind = "skydiscover"\nname = "skydiscover"\nevaluator_file = "grading/grade.py"\n'
        'evolve_file = "solution.py"\nconfig_file = "search.yaml"\n')
    again = Problem.load(tmp_path / "copy")
    assert (again.name, again.spec, again.description, again.initial_source) == \
        (problem.name, problem.spec, problem.description, problem.initial_source)


def test_the_program_beside_the_evaluator_is_found(tmp_path):
    folder = fixture("whole_file", tmp_path)
    problem = Problem.from_files(None, folder / "evaluator.py", None)
    assert problem.spec.evolve_file == "initial_program.py" and not problem.from_scratch
    assert problem.notices == ("whole_file: SkyDiscover-style files (initial_program.py, "
                               "evaluator.py)",)


def test_without_a_program_the_run_starts_from_an_empty_file(tmp_path):
    (tmp_path / "scratch_start").mkdir()
    evaluator = tmp_path / "scratch_start" / "evaluate.py"
    evaluator.write_text(EVALUATOR)
    problem = Problem.from_files(None, evaluator, None)
    assert problem.from_scratch and problem.initial_source == ""
    create_run(problem, RunSettings.build(problem=problem.name), tmp_path / "run")
    with RunRepository.open(tmp_path / "run") as repo:
        baseline = repo.records()[0]
        assert repo.program_source(baseline.id) == ""
    assert baseline.score == 0.0 and baseline.message.feedback == "error: no VALUE yet"
    assert Problem.load(tmp_path / "run" / ".adrs" / "problem").from_scratch


def test_problem_toml_beside_a_peers_program_needs_no_evolve_file(tmp_path):
    folder = fixture("whole_file", tmp_path)
    (folder / "problem.toml").write_text('name = "pool"\n')
    (folder / "README.md").write_text("Size the pool.\n")
    problem = Problem.load(folder)
    assert problem.spec.evolve_file == "initial_program.py" and problem.notices == ()


def test_a_loose_evaluator_in_a_catch_all_folder_is_refused_before_anything_is_copied(
        tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "evaluate.py").write_text(EVALUATOR)
    monkeypatch.setattr(layouts.Path, "home", lambda: home)
    with pytest.raises(ProblemError, match="is your home folder"):
        Problem.from_files(None, home / "evaluate.py", None)
    crowded = tmp_path / "downloads"
    (crowded / "old").mkdir(parents=True)
    (crowded / "evaluate.py").write_text(EVALUATOR)
    for number in range(3):
        (crowded / "old" / f"f{number}").write_text("")
    monkeypatch.setattr(layouts, "MAX_LOOSE_FOLDER_FILES", 3)
    with pytest.raises(ProblemError, match="holds more than 3 files.*a folder of their own"):
        Problem.from_files(None, crowded / "evaluate.py", None)
    (crowded / "old" / "f0").unlink()
    assert Problem.from_files(None, crowded / "evaluate.py", None).from_scratch
