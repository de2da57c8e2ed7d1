"""The graph's typed state: ids, figures and short texts. Programs live in git, not here."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypedDict

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


def latest_iteration(current: list[Outcome], update: list[Outcome]) -> list[Outcome]:
    """The newest outcome(s): a slot holds the one of its current candidate only."""
    merged = list(current) + list(update)
    newest = max(((o["iteration"], o["slot"]) for o in merged), default=(0, 0))
    return [o for o in merged if (o["iteration"], o["slot"]) == newest]


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


class SlotState(TypedDict, total=False):
    """One of the K slots: the number of the candidate it works on, and that candidate's end."""

    slot: int
    number: int
    outcomes: Annotated[list[Outcome], latest_iteration]
    line: dict[str, Any]  # the last committed candidate, for progress


class SlotInput(TypedDict):
    slot: int


class CandidateState(TypedDict, total=False):
    """One candidate's trip through code -> critique (-> code ...) -> evaluate."""

    iteration: int
    slot: int
    island: int
    plan: dict[str, Any]  # agents.schemas.Plan, dumped
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
