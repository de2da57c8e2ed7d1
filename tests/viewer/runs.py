"""Small real runs of the toy problem for the viewer, report and steering tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from adrs.agents.model.config import ModelSettings, Price
from adrs.agents.model.team import model_team
from adrs.graph.runner import create_run, execute
from adrs.graph.settings import RunSettings
from adrs.tools.problem import Problem
from tests.agents.model.fakes import ScriptedChatModel, call, edit, plan, scripted
from tests.conftest import FIXTURES, start_run


def offline_run(root: Path, name: str = "run", **settings) -> Path:
    """A finished offline run (toy problem, seed 0 unless given)."""
    shutil.copytree(FIXTURES / "toy", root / f"{name}-toy")
    start_run(root / f"{name}-toy", root / name, **{"iterations": 3, "width": 2, **settings})
    return root / name


def model_run(root: Path, before: Callable[[Path], None] | None = None
              ) -> tuple[Path, dict[str, ScriptedChatModel]]:
    """Two iterations of the model brain with scripted chat models (WIDTH 2 -> 3 -> 4), each
    with findings and a research note; `before(run_dir)` runs after the run is laid out."""
    shutil.copytree(FIXTURES / "toy", root / "model-toy")
    model = ModelSettings(planner="fake-planner", coder="fake-coder", critic="fake-critic",
                          evaluator="fake-evaluator", backoff_seconds=0.0,
                          prices={name: Price(input=1, output=2) for name in
                                  ("fake-planner", "fake-coder", "fake-critic", "fake-evaluator")})
    settings = RunSettings.build(problem="toy", iterations=2, brain="model", model=model)
    run_dir = root / "model-run"
    create_run(Problem.load(root / "model-toy"), settings, run_dir)
    if before:
        before(run_dir)
    fakes = {
        "planner": scripted(call("submit_plans", {"plans": [plan("i0000-s0", "Raise WIDTH to 3")]}),
                            call("submit_plans", {"plans": [plan("i0001-s0", "Raise WIDTH to 4")]})),
        "coder": scripted(edit("WIDTH = 2", "WIDTH = 3"), edit("WIDTH = 3", "WIDTH = 4")),
        "critic": scripted(*[call("submit_verdict", {"decision": "approve",
                                                     "reasons": ["Matches the plan."]})] * 2),
        "evaluator": scripted(*[call("write_findings", {"summary": "Closer to near.",
                                                        "note": f"WIDTH {n} moves toward 5."})
                                for n in (3, 4)]),
    }
    execute(run_dir, team=model_team(model, run_root=run_dir, chat_models=fakes))
    return run_dir, fakes
