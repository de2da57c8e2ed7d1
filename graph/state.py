"""The graph's typed state: ids, figures and short texts. Programs live in git, not here."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypedDict

from adrs.agents.interface import add_counts, add_usage


class Outcome(TypedDict):
    """What became of one candidate; select turns it into a commit."""

    iteration: int
    slot: int
    parent_id: str
    second_parent_id: str | None
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


def latest_iteration(current: list[Outcome], update: list[Outcome]) -> list[Outcome]:
    """Collect the fanned-out candidates' outcomes; older iterations' are dropped to keep state small."""
    merged = list(current) + list(update)
    newest = max((outcome["iteration"] for outcome in merged), default=0)
    return [outcome for outcome in merged if outcome["iteration"] == newest]


class RunInput(TypedDict):
    baseline_id: str
    best_id: str
    best_score: float


class RunState(TypedDict, total=False):
    baseline_id: str
    best_id: str
    best_score: float
    iteration: int  # iterations completed
    evaluations: int  # candidates that reached the simulator
    outcomes: Annotated[list[Outcome], latest_iteration]
    recent: list[dict[str, Any]]  # one line per candidate of the last iteration, for progress
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


class CandidateState(TypedDict, total=False):
    """One candidate's trip through code -> critique (-> code ...) -> evaluate."""

    iteration: int
    slot: int
    plan: dict[str, Any]  # agents.schemas.Plan, dumped
    review: dict[str, str]  # workspace.messages.Review, dumped, once a person answered
    program_blob: str | None
    applied: str  # the coder's account of the edit it made
    revisions: int
    feedback: list[str]  # the critic's reasons, when sent back
    verdict: str
    usage: Annotated[dict[str, dict[str, float]], add_usage]  # this candidate's steps so far
    faults: Annotated[dict[str, int], add_counts]
    outcomes: Annotated[list[Outcome], latest_iteration]


class CandidateOutput(TypedDict):
    outcomes: list[Outcome]
