"""The four roles as interfaces, and what each one is given.

graph/ knows the agents only through these; a brain (offline or model-backed) implements them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

from agents.schemas import Findings, Plan, Verdict
from tools.evaluation import EvaluationResult, EvaluationTool
from tools.problem import Problem
from workspace.database import ProgramDatabase, ProgramRecord
from workspace.repository import RunRepository


def derive_rng(seed: int, *parts: object) -> random.Random:
    """A generator for one decision, from the run seed and where it happens (never global state).

    Deriving instead of carrying one stream means a resumed run makes the same choices.
    """
    return random.Random(":".join(str(part) for part in (seed, *parts)))


@dataclass(frozen=True)
class PlanRequest:
    iteration: int
    count: int  # how many plans (candidates) this iteration
    database: ProgramDatabase
    repository: RunRepository
    problem: Problem
    seed: int


@dataclass(frozen=True)
class CodeRequest:
    plan: Plan
    parent_source: str
    second_parent_source: str | None
    iteration: int
    slot: int
    revision: int  # 0 for the first attempt
    feedback: tuple[str, ...] = ()  # the critic's reasons when revising
    previous_source: str | None = None  # the attempt being revised
    seed: int = 0


@dataclass(frozen=True)
class CodeResult:
    source: str | None
    note: str = ""
    error: str | None = None  # set when no program could be written


@dataclass(frozen=True)
class ReviewRequest:
    plan: Plan
    parent_source: str
    candidate_source: str
    known_fingerprints: frozenset[str]
    problem: Problem


@dataclass(frozen=True)
class AssessRequest:
    plan: Plan
    candidate_source: str
    parent: ProgramRecord
    tool: EvaluationTool


@dataclass(frozen=True)
class Assessment:
    result: EvaluationResult  # always from the tool, never from a model's words
    findings: Findings


class Planner(Protocol):
    model_name: str

    def plan(self, request: PlanRequest) -> list[Plan]: ...


class Coder(Protocol):
    model_name: str

    def write(self, request: CodeRequest) -> CodeResult: ...


class Critic(Protocol):
    model_name: str

    def review(self, request: ReviewRequest) -> Verdict: ...


class Evaluator(Protocol):
    model_name: str

    def assess(self, request: AssessRequest) -> Assessment: ...


@dataclass(frozen=True)
class Team:
    """One brain per role."""

    planner: Planner
    coder: Coder
    critic: Critic
    evaluator: Evaluator

    def model_names(self) -> str:
        names = {self.planner.model_name, self.coder.model_name,
                 self.critic.model_name, self.evaluator.model_name}
        return ",".join(sorted(names))
