"""Choose the brains: the offline search, or models for some or all roles (loaded only when asked).

A run with model settings may still give any role the offline brain (`--planner offline`): an
offline planner with a model coder, say, or the static checks alone as the critic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from adrs.agents.model.config import ModelSettings
from adrs.agents.offline import offline_team
from adrs.agents.roles import Team

Brain = Literal["offline", "model"]


def build_team(brain: Brain, model: ModelSettings | None, *, run_root: Path | None = None) -> Team:
    """The team a run's settings describe; its models record into the run at `run_root`.

    Raises ModelSetupError (one line) when the model brain cannot work at all, e.g. no API key."""
    if brain == "offline":
        return offline_team()
    if brain == "model" and model is not None:
        from adrs.agents.model.team import model_team  # the OpenAI client loads only when needed
        return model_team(model, run_root=run_root)
    raise ValueError(f"unknown brain {brain!r} (or the model brain without model settings)")


def probe_models(model: ModelSettings) -> ModelSettings:
    """The model settings with what each model's endpoint accepts, learned by a short request
    per model (agents/model/probe.py). Raises ModelSetupError for a refusal no fallback fixes."""
    from adrs.agents.model.team import probed
    return probed(model)
