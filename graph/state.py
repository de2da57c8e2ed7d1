"""The graph's typed state: ids, figures and short texts. Programs live in git, not here."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, TypedDict

from adrs.agents.interface import add_counts, add_usage


class Outcome(TypedDict):
    """What became of one candidate; the slot's commit node turns it into a commit."""

    iteration: int
    slot: int
    parent_id: str
    second_parent_id: str | None
    island: int
    summary: str
    hypothesis: str
    operator: str
    model: str
    program_blob: str | None  # git blob of the candidate; None when no program was written
    fingerprint: str
    status: Literal["evaluated", "rejected", "failed"]
    verdict: str
    revisions: int
    findings: str
    feedback: str
    score: float | None
    metrics: dict[str, float]
    per_workload: dict[str, float]
    timings: dict[str, float]
    usage: dict[str, dict[str, float]]  # model tokens and dollars of this candidate, per role
    faults: dict[str, int]  # model faults met on the way, by kind
    note: str  # the evaluator's research note, kept as a git note on the commit
    review: dict[str, str] | None  # a person's review of the plan (graph/review.py), if any


class RunInput(TypedDict):
    baseline_id: str
    best_id: str
    best_score: float


class RunState(TypedDict, total=False):
    baseline_id: str
    best_id: str
    best_score: float
    iteration: int  # iterations (one candidate per slot) whose every candidate is settled
    evaluations: int  # candidates that reached the simulator
    usage: Annotated[dict[str, dict[str, float]], add_usage]  # model spend per role, whole run
    faults: Annotated[dict[str, int], add_counts]  # model faults by kind, whole run
    stop_reason: str
    report: dict[str, Any]


class RunOutput(TypedDict, total=False):
    baseline_id: str
    best_id: str
    best_score: float
    iteration: int
    evaluations: int
    usage: dict[str, dict[str, float]]
    faults: dict[str, int]
    stop_reason: str
    report: dict[str, Any]


class CandidateInput(TypedDict):
    """A fresh candidate, as the plan node's Send hands it to `code`."""

    iteration: int
    slot: int
    island: int
    plan: dict[str, Any]  # agents.schemas.Plan, dumped
    review: NotRequired[dict[str, str]]  # workspace.messages.Review, dumped, once a person answered
    revisions: int
    feedback: list[str]  # the critic's reasons, when sent back
    usage: dict[str, dict[str, float]]  # model spend of this candidate so far, per role
    faults: dict[str, int]


class SlotInput(TypedDict):
    slot: int


class SlotOutput(TypedDict, total=False):
    """What a finished slot hands the run: nothing of its candidates' fields (the run's
    figures come from the pipeline), so K slots ending together never collide."""

    line: dict[str, Any]


class SlotState(TypedDict, total=False):
    """One of the K slots: the number of its current candidate, that candidate's fields while
    it is coded, reviewed and evaluated (programs are git blobs), its Outcome, and the line of
    the last committed one. Spend fields hold totals (each step adds its own and writes them)."""

    slot: int
    number: int
    iteration: int
    island: int
    plan: dict[str, Any]
    review: dict[str, str]  # a person's review of the plan (graph/review.py), if the run reviews
    revisions: int
    feedback: list[str]
    usage: dict[str, dict[str, float]]
    faults: dict[str, int]
    program_blob: str | None
    applied: str  # the coder's account of the edit it made
    verdict: str
    outcome: Outcome
    line: dict[str, Any]  # the last committed candidate, for progress


CandidateState = SlotState  # what the candidate's nodes read: the slot's state
