"""Score a problem's baseline twice and say whether the two scores agree.

An evaluator that is not seeded (or measures wall time in its figures) gives one program two
scores: then one seed cannot give one history, and a search reports noise as gains. `adrs check`
and the start of every run score the baseline twice, at once, to catch it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from adrs.tools.evaluation import EvaluationResult, EvaluationTool


class ProblemWarning(UserWarning):
    """Something about a problem the user should know once, e.g. an unseeded evaluator."""


@dataclass(frozen=True)
class BaselineCheck:
    first: EvaluationResult
    second: EvaluationResult

    @property
    def difference(self) -> str | None:
        """What differs between the two evaluations (figures only, never timings), or None."""
        return difference(self.first, self.second)

    @property
    def seconds(self) -> float:
        """Wall time of one evaluation (the shorter of the two, run side by side)."""
        return min(self.first.duration_seconds, self.second.duration_seconds)

    def warning(self, name: str) -> str | None:
        if self.difference is None:
            return None
        return (f"the baseline of {name} scored differently on two evaluations ({self.difference}): "
                "its evaluator is not deterministic (unseeded, or wall time in its figures), so "
                "one seed will not give one history and the offline search may report noise as "
                "gains; seed it, or list wall-time metrics in problem.toml's timing_metrics")


def score_twice(tool: EvaluationTool, source: str) -> BaselineCheck:
    """Two evaluations of `source`, side by side."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="adrs-baseline") as pool:
        first, second = pool.map(lambda _: tool.evaluate(source), range(2))
    return BaselineCheck(first, second)


def difference(a: EvaluationResult, b: EvaluationResult) -> str | None:
    if a.status != b.status:
        return f"{a.summary_line()} vs {b.summary_line()}"
    if a.combined_score != b.combined_score:
        return f"combined_score {a.combined_score!r} vs {b.combined_score!r}"
    for label, left, right in (("metric", a.metrics, b.metrics),
                               ("workload", a.per_workload, b.per_workload)):
        for name in sorted(set(left) | set(right)):
            if left.get(name) != right.get(name):
                return f"{label} {name} {left.get(name)!r} vs {right.get(name)!r}"
    return None
