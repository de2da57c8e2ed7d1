"""What the agents hand each other: plans, verdicts and findings.

The same models are the structured outputs of the model brain, so every field has a description.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LiteralEdit(BaseModel):
    """Replace one numeric literal of the evolvable region (the offline brain's kind of change)."""

    model_config = ConfigDict(frozen=True)
    index: int = Field(description="Position of the literal among the region's numeric literals.")
    old: str = Field(description="The literal's current text, checked before replacing.")
    new: str = Field(description="The new literal text.")
    label: str = Field("", description="What the literal is, e.g. SAMPLE_SIZE.")


class Plan(BaseModel):
    """A research step: which program to change, what to change, and why."""

    model_config = ConfigDict(frozen=True)
    parent_id: str = Field(description="Commit id of the program to derive the candidate from.")
    summary: str = Field(description="One line naming the change, used as the commit title.")
    hypothesis: str = Field(description="Why this change should help, citing the metrics, "
                                        "workloads and past attempts that motivate it.")
    change: str = Field(description="The concrete edit to make to the evolvable region.")
    expected_effect: str = Field(description="Which metric should move, and in which direction.")
    operator: str = Field("llm-edit", description="Kind of change: perturb, crossover or llm-edit.")
    second_parent_id: str | None = Field(None, description="Crossover's other parent, if any.")
    literal_edits: tuple[LiteralEdit, ...] = Field(
        (), description="Exact literal replacements; empty when the coder writes the edit.")
    edit: str = Field("", description="The planner's own edit of the parent (SEARCH/REPLACE "
                                      "blocks, or a ```python region); empty: the coder writes it.")


class Verdict(BaseModel):
    """The critic's decision on an edit, made before any simulator time is spent."""

    model_config = ConfigDict(frozen=True)
    decision: Literal["approve", "revise", "reject"] = Field(
        description="approve: evaluate it; revise: send back to the coder; reject: drop it.")
    reasons: tuple[str, ...] = Field((), description="Why, one short sentence each.")

    def describe(self) -> str:
        because = "; ".join(self.reasons)
        return f"{self.decision}: {because}" if because else self.decision


class Findings(BaseModel):
    """What the evaluation says about the candidate, written for the planner."""

    model_config = ConfigDict(frozen=True)
    summary: str = Field(description="One line: the score and how it compares with the parent.")
    details: str = Field("", description="Per-workload gains and losses, errors, what to try next.")

    def describe(self) -> str:
        return f"{self.summary}\n{self.details}".strip()
