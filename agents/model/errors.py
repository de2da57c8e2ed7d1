"""The model brain's kinds of failure (a light module: the run loads it even offline)."""

from __future__ import annotations


class ModelSetupError(RuntimeError):
    """The model brain cannot work (a refused key, an unknown model, a refusal no fallback fixes,
    a server that gives no answer, a replay that diverged); the run stops with this one-line
    message and can be resumed once it is fixed."""


class ModelCallFailed(RuntimeError):
    """One request got no usable answer; the role decides what that costs (see each role)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class BudgetExhausted(ModelCallFailed):
    """The next call could take the run over its token or dollar budget, so it was not sent."""

    def __init__(self, reason: str) -> None:
        super().__init__("budget", reason)
