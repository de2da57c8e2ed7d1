"""Shared fixtures: the toy problem (fast) and helpers to drive whole runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from adrs.graph.runner import create_run, execute
from adrs.graph.settings import RunSettings
from adrs.tools.problem import Problem

FIXTURES = Path(__file__).parent / "fixtures" / "problems"
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def toy_dir(tmp_path: Path) -> Path:
    """A private copy of the toy problem, safe to break."""
    target = tmp_path / "toy"
    shutil.copytree(FIXTURES / "toy", target)
    return target


def start_run(problem_dir: Path, run_dir: Path, **settings) -> dict:
    problem = Problem.load(problem_dir)
    create_run(problem, RunSettings.build(problem=problem.name, **settings), run_dir)
    return execute(run_dir)
