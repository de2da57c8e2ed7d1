"""What the models are asked to return, as pydantic models (each offered as a tool).

These are the model-facing shapes; the roles turn them into the team's own Plan, Verdict and
Findings (agents/schemas.py), adding what the model must not decide (commit ids, operators).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DECISIONS = {"approved": "approve", "accept": "approve", "accepted": "approve",
              "revision": "revise", "revised": "revise", "rejected": "reject"}


class PlanDraft(BaseModel):
    """One research step: which program to start from, what to change, and why."""

    model_config = ConfigDict(frozen=True)
    parent: str = Field(description="Key of the program to start from, e.g. i0003-s0, "
                                    "taken from the list of programs.")
    summary: str = Field(description="One line naming the change; it becomes the commit title.")
    hypothesis: str = Field(description="Why the change should help, citing the metrics, "
                                        "workloads, attempts and notes that motivate it.")
    change: str = Field(description="The concrete edit to make to the evolvable region.")
    expected_effect: str = Field(description="Which metric should move, and which way.")
    rewrite: bool = Field(False, description="True only if the whole evolvable region must be "
                                             "rewritten rather than edited.")


class PlanBatch(BaseModel):
    """The plans of one iteration, one per candidate."""

    model_config = ConfigDict(frozen=True)
    plans: list[PlanDraft] = Field(min_length=1, description="The plans, each a different idea.")


class EditedPlanDraft(PlanDraft):
    """One research step with its edit: which program, what to change, why, and the change."""

    edit: str = Field("", description="The edit of the suggested parent: SEARCH/REPLACE blocks "
                                      "(or, when rewrite is true, one ```python block holding "
                                      "the whole new region); empty if you start from another "
                                      "program.")


class EditedPlanBatch(BaseModel):
    """The plans of one iteration with their edits, one per candidate."""

    model_config = ConfigDict(frozen=True)
    plans: list[EditedPlanDraft] = Field(min_length=1, description="The plans, each a "
                                                                   "different idea.")


class Review(BaseModel):
    """The critic's decision on an edit, before any simulator time is spent."""

    model_config = ConfigDict(frozen=True)
    decision: Literal["approve", "revise", "reject"] = Field(
        description="approve: evaluate it; revise: send it back to the coder; reject: drop it.")
    reasons: list[str] = Field(default_factory=list,
                               description="Why, one short sentence each; for revise, what to fix.")

    @field_validator("decision", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        """'Approve', ' REJECT ' and 'approved' mean what they say."""
        if not isinstance(value, str):
            return value
        word = value.strip().strip(".!").lower()
        return _DECISIONS.get(word, word)


class FindingsReport(BaseModel):
    """What the evaluation showed, written for the planner."""

    model_config = ConfigDict(frozen=True)
    summary: str = Field(description="One line: the score and how it compares with the parent.")
    details: str = Field("", description="Workloads that gained or lost and why, errors, "
                                         "what to try next.")
    note: str = Field("", description="One research note on what this attempt teaches (what "
                                      "worked, what failed and why); empty if nothing new.")


class ProbeAnswer(BaseModel):
    """The answer to the request that checks what an endpoint accepts."""

    ok: bool = Field(description="Always true.")


class EvaluateAll(BaseModel):
    """Score the candidate on every training workload."""


class EvaluateWorkloads(BaseModel):
    """Score the candidate on the named training workloads only."""

    workloads: list[str] = Field(min_length=1, description="Names of training workloads.")


class CompareWithParent(BaseModel):
    """The candidate's and its parent's combined score per workload, side by side."""
