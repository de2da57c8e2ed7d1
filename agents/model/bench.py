"""The simulator as the evaluator agent's tools: bounded, cached, and never the model's word.

`evaluate_all` scores the candidate on every training workload, `evaluate_workloads` on the
named ones, `compare_with_parent` sets its score per workload beside its parent's.
"""

from __future__ import annotations

from pydantic import BaseModel

from adrs.agents.model import views
from adrs.agents.model.answers import AnswerError, validate
from adrs.agents.model.schemas import CompareWithParent, EvaluateAll, EvaluateWorkloads
from adrs.tools.evaluation import EvaluationResult, EvaluationTool
from adrs.workspace.database import ProgramRecord

FINDINGS_TOOL = "write_findings"
SIMULATOR_TOOLS: dict[str, type[BaseModel]] = {
    "evaluate_all": EvaluateAll,
    "evaluate_workloads": EvaluateWorkloads,
    "compare_with_parent": CompareWithParent,
}
ARTIFACT_CHARS = 800


class Bench:
    """The simulator as the agent's tools: bounded, cached, and never the model's word."""

    def __init__(self, tool: EvaluationTool, source: str, parent: ProgramRecord,
                 max_calls: int) -> None:
        self._tool = tool
        self._source = source
        self._parent = parent
        self._max_calls = max_calls
        self._calls = 0
        self._full: EvaluationResult | None = None
        self._subsets: dict[tuple[str, ...], EvaluationResult] = {}

    @property
    def exhausted(self) -> bool:
        return self._calls >= self._max_calls

    def full(self) -> EvaluationResult:
        """The evaluation on every training workload (run once, whoever asks first)."""
        if self._full is None:
            self._full = self._tool.evaluate(self._source)
        return self._full

    def run(self, name: str, args: object) -> str:
        """A tool's reply as text; errors are replies too, so the model can correct itself."""
        schema = SIMULATOR_TOOLS.get(name)
        if schema is None:
            return f"error: no tool {name!r}; the tools are {', '.join(SIMULATOR_TOOLS)} " \
                   f"and {FINDINGS_TOOL}"
        try:
            arguments = validate(schema, args if args else {})
        except AnswerError as exc:
            return f"error: {name}: {exc}"
        if isinstance(arguments, EvaluateWorkloads):
            return self._subset(tuple(dict.fromkeys(arguments.workloads)))
        if self._full is None and not self._spend():
            return self._budget_note()
        result = self.full()
        if isinstance(arguments, CompareWithParent):
            return self._compare(result)
        return describe(result, self._parent)

    def _subset(self, names: tuple[str, ...]) -> str:
        known = set(self._parent.message.per_workload)
        unknown = [name for name in names if known and name not in known]
        if unknown:
            return (f"error: unknown workloads {', '.join(unknown)}; "
                    f"the workloads are {', '.join(sorted(known))}")
        if names not in self._subsets:
            if not self._spend():
                return self._budget_note()
            self._subsets[names] = self._tool.evaluate(self._source, workloads=list(names))
        return describe(self._subsets[names], None)

    def _compare(self, result: EvaluationResult) -> str:
        if not result.ok:
            return f"the candidate has no score to compare: {result.summary_line()}"
        before = self._parent.message.per_workload
        rows = [f"{name}: parent {before[name]:.4f}, candidate {value:.4f}, "
                f"change {value - before[name]:+.4f}"
                for name, value in sorted(result.per_workload.items()) if name in before]
        base = self._parent.score or 0.0
        head = (f"combined_score: parent {base:.4f}, candidate {result.combined_score:.4f}, "
                f"change {result.combined_score - base:+.4f}")
        return "\n".join([head, *rows]) if rows else head + "\n(no per-workload scores to compare)"

    def _spend(self) -> bool:
        if self._calls >= self._max_calls:
            return False
        self._calls += 1
        return True

    def _budget_note(self) -> str:
        return (f"error: the budget of {self._max_calls} simulator calls is used up; "
                f"call {FINDINGS_TOOL}")


def describe(result: EvaluationResult, parent: ProgramRecord | None) -> str:
    """An evaluation as the model sees it: no wall times (they differ between runs)."""
    if result.ok:
        line = f"status ok, combined_score {result.combined_score:.4f}"
        if parent is not None and parent.score is not None:
            line += f" (parent {parent.key} {parent.score:.4f}, " \
                    f"change {result.combined_score - parent.score:+.4f})"
    else:
        line = f"status {result.status.value}: {result.error or 'no reason given'}"
    lines = [line]
    if result.metrics:
        lines.append("metrics: " + ", ".join(f"{k}={v:.6g}" for k, v in sorted(result.metrics.items())))
    if result.per_workload:
        lines.append("per workload: " + views.workloads(dict(result.per_workload)))
    for name, text in sorted(result.artifacts.items()):
        lines.append(f"{name}: {views.clip(text, ARTIFACT_CHARS)}")
    return "\n".join(lines)
