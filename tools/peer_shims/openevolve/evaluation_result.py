"""The result type OpenEvolve evaluators return: figures plus text (or bytes) for the next prompt."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EvaluationResult:
    metrics: dict[str, float]
    artifacts: dict[str, str | bytes] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, metrics: dict[str, float]) -> EvaluationResult:
        return cls(metrics=dict(metrics))

    def to_dict(self) -> dict[str, float]:
        return self.metrics

    def has_artifacts(self) -> bool:
        return bool(self.artifacts)
