"""tools/executors.py: evaluations through a local Ray (the optional extra), each node jailed as
here, with the same results as the local pool; and a whole run with --executor ray."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adrs.cli import app
from adrs.tools.evaluation import EvaluationTool, default_limits
from adrs.tools.isolation import current
from adrs.tools.problem import Problem
from adrs.workspace.repository import RunRepository

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'adrs[ray]'")
from adrs.tools.executors import RayExecutor  # noqa: E402  (needs ray)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "problems"
PROGRAMS = [(FIXTURES / "toy" / "initial.py").read_text().replace("WIDTH = 2", f"WIDTH = {w}")
            for w in (2, 4, 5, 9)]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def toy(tmp_path) -> Problem:
    shutil.copytree(FIXTURES / "toy", tmp_path / "toy")
    return Problem.load(tmp_path / "toy")


def test_evaluations_through_ray_match_the_local_pool(local_ray, toy):
    executor = RayExecutor(toy.root, default_limits(toy), size=2)
    assert executor.kinds == [current().kind] * 2  # each actor decided its own isolation
    with EvaluationTool(toy, executor=executor) as remote, EvaluationTool(toy) as local:
        far = [remote.evaluate(program) for program in PROGRAMS]
        near = [local.evaluate(program) for program in PROGRAMS]
        bad = remote.evaluate("def choose(:\n")
    assert [r.combined_score for r in far] == [r.combined_score for r in near]
    assert all(r.ok for r in far) and not bad.ok and "SyntaxError" in bad.error


def test_a_run_with_the_ray_executor(local_ray, toy, tmp_path):
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(toy.root), "--executor", "ray", "--iterations",
                                      "2", "--width", "2", "--run-dir", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert len(RunRepository.open(run_dir).records()) == 5
