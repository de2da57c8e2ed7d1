"""How a candidate's outcome is written down: its commit message, and the model it names."""

from __future__ import annotations

from adrs.agents.interface import Team
from adrs.graph.state import Outcome
from adrs.workspace.messages import CandidateMessage, Review


def model_label(team: Team) -> str:
    """The Agent-Model trailer: the coder's model, or planner+coder when they differ."""
    if team.coder.model_name == team.planner.model_name:
        return team.coder.model_name
    return f"{team.planner.model_name}+{team.coder.model_name}"


def commit_message(outcome: Outcome, isolation: str = "") -> CandidateMessage:
    """The commit carries the rationale in its body and the figures in its trailers."""
    verdict = outcome["verdict"]
    if outcome["revisions"]:
        verdict += f"\n(after {outcome['revisions']} revision(s))"
    return CandidateMessage(
        summary=outcome["summary"], hypothesis=outcome["hypothesis"], verdict=verdict,
        findings=outcome["findings"], feedback=outcome["feedback"],
        status=outcome["status"], iteration=outcome["iteration"], slot=outcome["slot"],
        island=outcome["island"], score=outcome["score"], metrics=outcome["metrics"],
        per_workload=outcome["per_workload"], operator=outcome["operator"],
        model=outcome["model"], fingerprint=outcome["fingerprint"],
        extra_parents=[outcome["second_parent_id"]] if outcome["second_parent_id"] else [],
        usage=outcome["usage"], faults=outcome["faults"], isolation=isolation,
        review=Review.model_validate(outcome["review"]) if outcome.get("review") else None,
    )
