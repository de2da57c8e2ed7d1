"""The offline evaluator: one call of the evaluation tool, then findings from the figures."""

from __future__ import annotations

from adrs.agents.roles import Assessment, AssessRequest
from adrs.agents.schemas import Findings
from adrs.tools.evaluation import EvaluationResult
from adrs.workspace.database import ProgramRecord


class OfflineEvaluator:
    model_name = "offline"

    def assess(self, request: AssessRequest) -> Assessment:
        result = request.tool.evaluate(request.candidate_source)
        return Assessment(result=result, findings=compare_with_parent(result, request.parent))


def compare_with_parent(result: EvaluationResult, parent: ProgramRecord) -> Findings:
    """What moved against the parent, workload by workload."""
    if not result.ok:
        return Findings(summary=f"Failed: {result.summary_line()}",
                        details="The candidate earns no score; its parent stays as it was.")
    base = parent.score or 0.0
    delta = result.combined_score - base
    verdict = "better than" if delta > 0 else "worse than" if delta < 0 else "equal to"
    summary = (f"Score {result.combined_score:.4f}, {verdict} parent {parent.key} "
               f"({base:.4f}, {delta:+.4f}).")
    before = parent.message.per_workload
    shared = sorted(set(before) & set(result.per_workload))
    if not shared:
        return Findings(summary=summary)
    moves = sorted((result.per_workload[name] - before[name], name) for name in shared)
    gains = [(d, n) for d, n in reversed(moves) if d > 0]
    losses = [(d, n) for d, n in moves if d < 0]
    lines = [f"{len(gains)} of {len(shared)} workloads improved, {len(losses)} got worse."]
    if gains:
        lines.append("Largest gains: " + ", ".join(f"{n} {d:+.4f}" for d, n in gains[:3]) + ".")
    if losses:
        lines.append("Largest losses: " + ", ".join(f"{n} {d:+.4f}" for d, n in losses[:3]) + ".")
    return Findings(summary=summary, details=" ".join(lines))
