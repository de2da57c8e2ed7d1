"""A fixed run state for pinning prompts: the toy baseline, one scored child with a research
note, and one rejected grandchild."""

from __future__ import annotations

import shutil
from pathlib import Path

from adrs.agents.evolve_block import fingerprint
from adrs.agents.roles import (
    AssessRequest,
    CodeRequest,
    Inspiration,
    PlanRequest,
    ResearchNote,
    ReviewRequest,
)
from adrs.agents.schemas import Plan
from adrs.graph.runner import create_run
from adrs.graph.settings import RunSettings
from adrs.tools.evaluation import EvaluationTool
from adrs.tools.problem import Problem
from adrs.workspace.database import ProgramDatabase
from adrs.workspace.messages import CandidateMessage
from adrs.workspace.repository import RunRepository
from tests.conftest import FIXTURES

WIDTH5 = (1 / 3.5 + 1 / 22.625) / 2


def fixed_run(root: Path) -> tuple[Problem, RunRepository]:
    shutil.copytree(FIXTURES / "toy", root / "toy")
    problem = Problem.load(root / "toy")
    create_run(problem, RunSettings.build(problem="toy", iterations=3), root / "run")
    repo = RunRepository.open(root / "run")
    child = repo.commit_candidate(
        key="i0001-s0", parent=repo.resolve("baseline"),
        source=problem.initial_source.replace("WIDTH = 2", "WIDTH = 5"),
        message=CandidateMessage(
            summary="Raise WIDTH to 5", hypothesis="The near target sits at 5.",
            verdict="approve: matches the plan",
            findings="Score 0.1650 (+0.1160 vs parent i0000-s0). Near gains most.",
            status="evaluated", iteration=1, score=WIDTH5, metrics={"width": 5.0, "rate": 1.0},
            per_workload={"near": 1 / 3.5, "far": 1 / 22.625}, feedback="worst_workloads: far"))
    repo.add_note(child, "WIDTH near 5 suits the near workload.")
    rejected = problem.initial_source.replace("WIDTH = 2", "WIDTH = 5").replace("1.0", "9.0")
    repo.commit_candidate(
        key="i0002-s0", parent=child, source=rejected,
        message=CandidateMessage(summary="Raise RATE to 9", status="rejected", iteration=2,
                                 verdict="reject: RATE 9 is far from both targets",
                                 fingerprint=fingerprint(rejected)))
    return problem, repo


PLAN = Plan(parent_id="", summary="Lower RATE to 0.5", hypothesis="Both targets want a lower RATE.",
            change="RATE = 0.5", expected_effect="combined_score up, near most")


def research_notes(repo: RunRepository, database: ProgramDatabase) -> tuple[ResearchNote, ...]:
    notes = repo.notes()
    return tuple(ResearchNote(key=r.key, text=notes[r.id].strip())
                 for r in database.records if r.id in notes)


def plan_request(problem: Problem, repo: RunRepository) -> PlanRequest:
    database = ProgramDatabase.from_repository(repo)
    baseline = database.baseline
    return PlanRequest(iteration=3, count=2, database=database, repository=repo, problem=problem,
                       seed=0, notes=research_notes(repo, database),
                       parent=database.get("i0001-s0"), intensity="explore",
                       search_note="island 0 of 1 (UCB: mean reward 0.50)",
                       inspirations=(Inspiration(baseline, repo.program_source(baseline.id)),))


def sources(problem: Problem, repo: RunRepository) -> tuple[Plan, str, str]:
    parent = repo.resolve("i0001-s0")
    source = repo.program_source(parent)
    return PLAN.model_copy(update={"parent_id": parent}), source, source.replace("RATE = 1.0",
                                                                                "RATE = 0.5")


def code_request(problem: Problem, repo: RunRepository) -> CodeRequest:
    plan, parent, candidate = sources(problem, repo)
    return CodeRequest(plan=plan, parent_source=parent, second_parent_source=None, iteration=3,
                       slot=1, revision=1, feedback=("Also keep WIDTH at 5.",),
                       previous_source=candidate, problem=problem,
                       database=ProgramDatabase.from_repository(repo))


def review_request(problem: Problem, repo: RunRepository) -> ReviewRequest:
    plan, parent, candidate = sources(problem, repo)
    return ReviewRequest(plan=plan, parent_source=parent, candidate_source=candidate,
                         known_fingerprints=frozenset(), problem=problem, iteration=3, slot=1)


def assess_request(problem: Problem, repo: RunRepository) -> AssessRequest:
    plan, parent, candidate = sources(problem, repo)
    return AssessRequest(plan=plan, candidate_source=candidate, parent=repo.record("i0001-s0"),
                         tool=EvaluationTool(problem), problem=problem, parent_source=parent,
                         iteration=3, slot=1)
