"""The offline brain's planner and coder on a real run repository of the toy problem."""

from __future__ import annotations

import dataclasses

from adrs.agents.evolve_block import Literal
from adrs.agents.offline.coder import OfflineCoder
from adrs.agents.offline.planner import OfflinePlanner, nudged_text
from adrs.agents.roles import CodeRequest, PlanRequest
from adrs.agents.schemas import LiteralEdit, Plan
from adrs.tools.problem import Problem
from adrs.workspace.database import ProgramDatabase
from adrs.workspace.repository import RunRepository
from tests.conftest import start_run


def literal(text: str) -> Literal:
    return Literal(index=0, text=text, line=1, column=0, name="X")


def test_nudges_keep_type_sign_and_a_floor():
    assert nudged_text(literal("10"), +1, 0.5) == "15"
    assert nudged_text(literal("10"), +1, 0.1) == "11"
    assert nudged_text(literal("10"), -1, 1.0) == "1"
    assert nudged_text(literal("1"), +1, 0.1) == "2"
    assert nudged_text(literal("0.5"), +1, 1.0) == "1.0"
    assert nudged_text(literal("0.5"), -1, 1.0) == "0.25"
    assert nudged_text(literal("0.0"), -1, 0.5) == "-0.5"


def request(run_dir, iteration=1, count=3, seed=0):
    repo = RunRepository.open(run_dir)
    return PlanRequest(iteration=iteration, count=count,
                       database=ProgramDatabase.from_repository(repo), repository=repo,
                       problem=Problem.load(run_dir / ".adrs" / "problem"), seed=seed)


def test_plans_are_seeded_sequential_and_cite_evidence(toy_dir, tmp_path):
    start_run(toy_dir, tmp_path / "run", iterations=3, width=2, seed=5)
    plans = OfflinePlanner().plan(request(tmp_path / "run", iteration=4, count=4))
    again = OfflinePlanner().plan(request(tmp_path / "run", iteration=4, count=4))
    assert plans == again and OfflinePlanner.sequential  # called in key order by the pipeline
    assert len({p.literal_edits for p in plans}) == 4
    for plan in plans:
        assert "scores" in plan.hypothesis and "rank" in plan.hypothesis
        assert "CMA-ES study over 2 constants" in plan.hypothesis
        assert plan.operator == "perturb" and plan.literal_edits


def test_the_study_learns_every_outcome_once(toy_dir, tmp_path):
    start_run(toy_dir, tmp_path / "run", iterations=2, width=1, seed=1)
    planner = OfflinePlanner()
    full = request(tmp_path / "run", iteration=1, count=1)
    planner.plan(dataclasses.replace(full, database=full.database.prefix(1)))  # asks for i0001-s0
    assert planner._progress.told == 0
    later = dataclasses.replace(full, iteration=3, database=full.database.prefix(2))
    planner.plan(later)  # i0001-s0's outcome is in this snapshot: told once
    planner.plan(dataclasses.replace(later, iteration=4))
    assert planner._progress.told == 1 and planner._progress.best_score is not None


def test_the_coder_applies_the_edit_and_goes_further_when_sent_back(toy_dir):
    source = Problem.load(toy_dir).initial_source
    plan = Plan(parent_id="p", summary="Raise WIDTH 2 -> 3", hypothesis="h", change="c",
                expected_effect="e", operator="perturb",
                literal_edits=(LiteralEdit(index=0, old="2", new="3", label="WIDTH"),))
    first = OfflineCoder().write(CodeRequest(plan, source, None, 1, 0, revision=0))
    assert "WIDTH = 3" in first.source and first.note == "WIDTH: 2 -> 3"
    second = OfflineCoder().write(CodeRequest(plan, source, None, 1, 0, revision=2))
    assert "WIDTH = 5" in second.source
    stale = plan.model_copy(update={"literal_edits": (LiteralEdit(index=0, old="9", new="3"),)})
    assert "is not '9'" in OfflineCoder().write(CodeRequest(stale, source, None, 1, 0, 0)).error
