"""Choose a brain: the offline search, or the model-backed roles (loaded only when asked for)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from adrs.agents.model.config import ModelSettings
from adrs.agents.offline import offline_team
from adrs.agents.roles import Team

Brain = Literal["offline", "model"]


def build_team(brain: Brain, model: ModelSettings | None, *, run_root: Path | None = None) -> Team:
    """The team a run's settings describe; a model team records into the run at `run_root`.

    Raises ModelSetupError (one line) when the model brain cannot work at all, e.g. no API key."""
    if brain == "offline":
        return offline_team()
    if brain == "model" and model is not None:
        from adrs.agents.model.team import model_team  # the OpenAI client loads only when needed
        return model_team(model, run_root=run_root)
    raise ValueError(f"unknown brain {brain!r} (or the model brain without model settings)")
