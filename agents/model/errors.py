"""The model brain's two kinds of failure (a light module: the run loads it even offline)."""

from __future__ import annotations


class ModelSetupError(RuntimeError):
    """The model brain cannot work at all (no key, refused key, unknown model, replay diverged);
    the run stops with this one-line message and can be resumed once it is fixed."""


class ModelCallFailed(RuntimeError):
    """One request failed for good; the role records a failed attempt and the run goes on."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
