"""The four roles as interfaces, and what each one is given.

graph/ knows the agents only through these; a brain (offline or model-backed) implements them.
"""

from __future__ import annotations

import random
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Protocol

from adrs.agents.schemas import Findings, Plan, Verdict
from adrs.agents.usage import SpendLedger, UsageMeter
from adrs.tools.evaluation import EvaluationResult, EvaluationTool
from adrs.tools.problem import Problem
from adrs.workspace.database import ProgramDatabase, ProgramRecord
from adrs.workspace.repository import RunRepository


def derive_rng(seed: int, *parts: object) -> random.Random:
    """A generator for one decision, from the run seed and where it happens (never global state).

    Deriving instead of carrying one stream means a resumed run makes the same choices.
    """
    return random.Random(":".join(str(part) for part in (seed, *parts)))


@dataclass(frozen=True)
class ResearchNote:
    """An insight an agent recorded about one program (a git note on its commit)."""

    key: str  # the program's key, e.g. i0003-s0
    text: str


@dataclass(frozen=True)
class Inspiration:
    """A program shown to the planner for its ideas: its record (figures, per-workload scores,
    feedback) and its code."""

    record: ProgramRecord
    source: str


@dataclass(frozen=True)
class PlanRequest:
    iteration: int
    count: int  # how many plans (candidates) to propose; the pipeline asks for one at a time
    database: ProgramDatabase  # the snapshot this candidate may see (see graph/pipeline.py)
    repository: RunRepository
    problem: Problem
    seed: int
    notes: tuple[ResearchNote, ...] = ()  # the latest research notes, oldest first
    meter: UsageMeter | None = None  # where a model brain counts its tokens, dollars and faults
    slot: int = 0  # with `iteration`, the key of the (first) candidate planned
    # What the search strategy (agents/search) chose; None/empty when planning without one.
    parent: ProgramRecord | None = None  # where to start
    island: int = 0
    intensity: str = "exploit"  # exploit: refine the parent; explore: try something different
    top: tuple[ProgramRecord, ...] = ()  # the best programs of the run, best first
    inspirations: tuple[Inspiration, ...] = ()  # two or three diverse programs, with their code
    search_note: str = ""  # why this island, parent and intensity
    guidance: tuple[str, ...] = ()  # a person's steering notes (adrs steer), oldest first


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
    problem: Problem | None = None
    meter: UsageMeter | None = None
    database: ProgramDatabase | None = None  # the parent's feedback; what a duplicate repeats


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
    known_fingerprints: Container[str]  # the snapshot's duplicate keys (a set or a view)
    problem: Problem
    iteration: int = 0
    slot: int = 0
    revision: int = 0
    meter: UsageMeter | None = None


@dataclass(frozen=True)
class AssessRequest:
    plan: Plan
    candidate_source: str
    parent: ProgramRecord
    tool: EvaluationTool
    problem: Problem | None = None
    parent_source: str | None = None  # for the model's view of the edit
    iteration: int = 0
    slot: int = 0
    meter: UsageMeter | None = None


@dataclass(frozen=True)
class Assessment:
    result: EvaluationResult  # always from the tool, never from a model's words
    findings: Findings
    note: str = ""  # a research note for the planner, kept as a git note on the commit


class Planner(Protocol):
    """Proposes plans. A planner whose answers depend on the order of its calls (the offline
    brain keeps an optimiser's state) sets `sequential = True`: the pipeline then calls it in
    key order, as soon as the candidate's snapshot is ready. Others are called concurrently."""

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
    """One brain per role, and the ledger their model calls are checked against."""

    planner: Planner
    coder: Coder
    critic: Critic
    evaluator: Evaluator
    spend: SpendLedger = field(default_factory=SpendLedger)

    def model_names(self) -> str:
        names = {self.planner.model_name, self.coder.model_name,
                 self.critic.model_name, self.evaluator.model_name}
        return ",".join(sorted(names))
