"""Per-run settings: typed, validated, saved with the run so `adrs resume` rebuilds the context."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class SettingsError(ValueError):
    """A bad setting; the message is one line."""


class RunSettings(BaseModel):
    """What a run was asked to do. Everything that shapes its history is here (and the seed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    problem: str = Field(description="Name of the problem.")
    seed: int = Field(0, description="Every random choice of the run derives from it.")
    iterations: int = Field(30, gt=0, description="Plan/select rounds.")
    width: int = Field(1, ge=1, le=32, description="Candidates per iteration, evaluated in parallel.")
    max_revisions: int = Field(2, ge=0, le=10, description="Times the critic may send an edit back.")
    max_evaluations: int | None = Field(None, gt=0, description="Stop after this many evaluations.")
    target_score: float | None = Field(None, description="Stop once the best score reaches it.")
    max_minutes: float | None = Field(None, gt=0, description="Wall-time budget of one invocation.")
    brain: Literal["offline"] = Field("offline", description="Which brain drives the agents.")

    @classmethod
    def build(cls, **values: object) -> "RunSettings":
        """Validated settings, or a one-line SettingsError naming the bad value."""
        try:
            return cls.model_validate({k: v for k, v in values.items() if v is not None})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise SettingsError(f"invalid {where}: {first['msg']} (got {first.get('input')!r})") from exc

    def save(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "RunSettings":
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise SettingsError(f"cannot read run settings {path}: {str(exc).splitlines()[0]}") from exc
