"""Per-run settings: typed, validated, saved with the run so `adrs resume` rebuilds the context.

The model brain's part (ModelSettings) names models, endpoint and prices, never an API key. The
command line builds these from its flags and a config file (adrs/cli/options.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from adrs.agents.interface import OFFLINE, ROLES, ModelSettings

__all__ = ["OFFLINE", "ROLES", "ModelSettings", "RunSettings", "SettingsError", "replay_settings"]


class SettingsError(ValueError):
    """A bad setting; the message is one line."""


class RunSettings(BaseModel):
    """What a run was asked to do. Everything that shapes its history is here (and the seed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    problem: str = Field(description="Name of the problem.")
    seed: int = Field(0, description="Every random choice of the run derives from it.")
    iterations: int = Field(30, gt=0, description="Plan/select rounds.")
    width: int = Field(1, ge=1, le=32, description="Candidates in flight at once (--parallel); "
                                                   "an iteration is one candidate per slot.")
    max_revisions: int = Field(2, ge=0, le=10, description="Times the critic may send an edit back.")
    max_evaluations: int | None = Field(None, gt=0, description="Stop after this many evaluations.")
    target_score: float | None = Field(None, allow_inf_nan=False,
                                       description="Stop once the best score reaches it.")
    max_minutes: float | None = Field(None, gt=0, description="Wall-time budget of one invocation.")
    brain: Literal["offline", "model"] = Field("offline", description="Which brain drives the agents.")
    model: ModelSettings | None = Field(None, description="The model brain's settings.")
    max_dollars: float | None = Field(None, gt=0, description="Stop once the models cost this much.")
    max_tokens: int | None = Field(None, gt=0, description="Stop once the models used this many "
                                                           "tokens (input and output).")
    # Bring your own data (issue 9): `--data DIR` or problem.toml's `data`.
    data_dir: str | None = Field(None, description="The user's data folder (absolute), shown "
                                 "read-only to the evaluator as $ADRS_DATA_DIR; None: the "
                                 "problem's own seeded synthetic data.")

    @field_validator("data_dir")
    @classmethod
    def _existing_folder(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.exists():
            raise ValueError(f"data folder {value} does not exist")
        if not path.is_dir():
            raise ValueError(f"data {value} is a file, not a folder")
        return str(path.resolve())
    # Isolation and executors (issues 11 and 13): where and how candidates are evaluated.
    unsafe_no_isolation: bool = Field(False, description="Let code written by a model run with "
                                      "resource limits only when no isolation works here.")
    executor: Literal["local", "ray"] = Field("local", description="Evaluate on this machine's "
                                              "warm jailed workers, or on a Ray cluster's.")
    ray_address: str | None = Field(None, description="The Ray cluster (ray.init's address); "
                                    "None starts a local Ray.")
    # Human checkpoints (graph/review.py).
    review: bool = Field(False, description="Pause after each plan until a person approves it, "
                                            "rewrites its hypothesis or gives it another parent.")

    @model_validator(mode="after")
    def _brain_has_its_settings(self) -> RunSettings:
        if (self.brain == "model") != (self.model is not None):
            raise ValueError("the model brain needs model settings (and only it has them)")
        if self.model is None and (self.max_dollars is not None or self.max_tokens is not None):
            raise ValueError("--max-dollars and --max-tokens need the model brain (--model)")
        if self.ray_address is not None and self.executor != "ray":
            raise ValueError("--ray-address needs --executor ray")
        if self.model is not None and self.max_dollars is not None and self.model.unpriced():
            names = ", ".join(self.model.unpriced())
            raise ValueError(f"--max-dollars needs a price for {names} "
                             f"([prices.\"{self.model.unpriced()[0]}\"] in --config)")
        return self

    @property
    def writes_code(self) -> bool:
        """Candidates are code written by a model (or replayed from one), not the offline
        brain's numeric edits of the user's own program: they never run without isolation."""
        return self.brain != "offline"

    @classmethod
    def build(cls, **values: object) -> RunSettings:
        """Validated settings, or a one-line SettingsError naming the bad value."""
        try:
            return cls.model_validate({k: v for k, v in values.items() if v is not None})
        except ValidationError as exc:
            raise SettingsError(_first_error(exc)) from exc

    def save(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> RunSettings:
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except ValidationError as exc:
            raise SettingsError(f"run settings {path}: {_first_error(exc)}") from exc
        except (OSError, ValueError) as exc:
            raise SettingsError(f"cannot read run settings {path}: {str(exc).splitlines()[0]}") from exc


# Fields whose command-line flag has another name, so an error names what the person typed.
_FLAGS = {"width": "--parallel", "data_dir": "--data"}


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if not where:
        return f"invalid settings: {message}"
    if where in _FLAGS:
        where = f"{where} ({_FLAGS[where]})"
    given = repr(first.get("input"))
    if isinstance(first.get("input"), dict) or f"got {given}" in message:  # nothing to add
        return f"invalid {where}: {message}"
    return f"invalid {where}: {message} (got {given})"


def replay_settings(recorded: RunSettings, recorded_run: Path) -> RunSettings:
    """The settings of a run that replays `recorded_run`: the same in all, answered offline."""
    if recorded.model is None:
        return recorded  # an offline run replays by running again: it needs no model
    model = recorded.model.model_copy(update={"replay_from": str(Path(recorded_run).resolve()),
                                              "record": True})
    return recorded.model_copy(update={"model": model})
