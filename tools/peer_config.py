"""What a peer's config.yaml (OpenEvolve, the ADRS case studies, SkyDiscover) says that adrs has a
counterpart for. Everything else is named once as ignored.

    prompt.system_message          -> appended to the description the planner reads
    evaluator.timeout              -> [limits] timeout_seconds
    evaluator.cascade_evaluation   -> [evaluation] cascade
    evaluator.cascade_thresholds   -> [evaluation] cascade_thresholds
    max_iterations                 -> [budget] iterations
    llm.models (heaviest weight), llm.primary_model -> the model of every role
    llm.api_base -> base_url, llm.temperature -> temperature, llm.timeout -> timeout_seconds,
    llm.max_tokens -> max_tokens (every role), llm.retries -> max_attempts (retries + 1),
    llm.retry_delay -> backoff_seconds

An API key in the file (llm.api_key) is never read: adrs takes keys from the environment only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class PeerConfigError(ValueError):
    """A config.yaml that cannot be read or has a value of the wrong type; one line."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1)
    weight: float = Field(1.0, ge=0)


class _Llm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    models: list[_Model] | None = None
    primary_model: str | None = None
    api_base: str | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    timeout: float | None = Field(None, gt=0)
    max_tokens: int | None = Field(None, gt=0)
    retries: int | None = Field(None, ge=0)
    retry_delay: float | None = Field(None, ge=0)


class _Prompt(BaseModel):
    model_config = ConfigDict(extra="ignore")
    system_message: str | None = None


class _Evaluator(BaseModel):
    model_config = ConfigDict(extra="ignore")
    timeout: float | None = Field(None, gt=0)
    cascade_evaluation: bool | None = None
    cascade_thresholds: list[float] | None = None


class _Config(BaseModel):
    model_config = ConfigDict(extra="ignore")
    max_iterations: int | None = Field(None, gt=0)
    llm: _Llm | None = None
    prompt: _Prompt | None = None
    evaluator: _Evaluator | None = None


# The keys read, by section ("" is the top level); every other key is reported as ignored.
_READ = {"": {"max_iterations", "llm", "prompt", "evaluator"},
         "llm": {"models", "primary_model", "api_base", "temperature", "timeout", "max_tokens",
                 "retries", "retry_delay"},
         "prompt": {"system_message"},
         "evaluator": {"timeout", "cascade_evaluation", "cascade_thresholds"}}


@dataclass(frozen=True)
class PeerConfig:
    """The parts of a config.yaml adrs uses, as values for problem.toml and the model settings."""

    system_message: str | None = None
    spec_values: dict[str, Any] = field(default_factory=dict)  # shaped like problem.toml
    model_values: dict[str, Any] = field(default_factory=dict)  # shaped like [model] of --config
    ignored: tuple[str, ...] = ()

    def ignored_line(self, name: str) -> str | None:
        """One line naming the ignored keys, or None when every key was used."""
        if not self.ignored:
            return None
        return f"{name}: ignoring keys adrs has no counterpart for: {', '.join(self.ignored)}"


def read_peer_config(path: Path) -> PeerConfig:
    """The config file's values adrs carries over; PeerConfigError (one line) when it is bad."""
    label = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PeerConfigError(f"cannot read {label}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise PeerConfigError(f"{label} is not UTF-8 text (byte {exc.start})") from exc
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise PeerConfigError(f"{label} is not valid YAML{line}: "
                              f"{getattr(exc, 'problem', None) or exc}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PeerConfigError(f"{label} must be a mapping of keys, not {type(raw).__name__}")
    try:
        config = _Config.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PeerConfigError(f"{label}: {where}: {first['msg']} "
                              f"(got {first.get('input')!r})") from exc
    return PeerConfig(
        system_message=(config.prompt.system_message or None) if config.prompt else None,
        spec_values=_spec_values(config), model_values=_model_values(config.llm),
        ignored=tuple(_ignored(raw)))


def _spec_values(config: _Config) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if config.max_iterations is not None:
        values["budget"] = {"iterations": config.max_iterations}
    evaluator = config.evaluator
    if evaluator is not None:
        if evaluator.timeout is not None:
            values["limits"] = {"timeout_seconds": evaluator.timeout}
        evaluation: dict[str, Any] = {}
        if evaluator.cascade_evaluation is not None:
            evaluation["cascade"] = evaluator.cascade_evaluation
        if evaluator.cascade_thresholds is not None:
            evaluation["cascade_thresholds"] = list(evaluator.cascade_thresholds)
        if evaluation:
            values["evaluation"] = evaluation
    return values


def _model_values(llm: _Llm | None) -> dict[str, Any]:
    if llm is None:
        return {}
    values: dict[str, Any] = {}
    if llm.models:
        # The heaviest model is the one the peers sample most; first listed wins a tie.
        values["name"] = max(llm.models, key=lambda m: m.weight).name
    elif llm.primary_model:
        values["name"] = llm.primary_model
    pairs = {"base_url": llm.api_base, "temperature": llm.temperature,
             "timeout_seconds": llm.timeout, "max_tokens": llm.max_tokens,
             "max_attempts": None if llm.retries is None else llm.retries + 1,
             "backoff_seconds": llm.retry_delay}
    values.update({key: value for key, value in pairs.items() if value is not None})
    return values


def _ignored(raw: dict[str, Any]) -> list[str]:
    ignored: list[str] = []
    for key, value in raw.items():
        if key not in _READ[""]:
            ignored.append(str(key))
        elif isinstance(value, dict):
            ignored += [f"{key}.{sub}" for sub in value if sub not in _READ[key]]
    return ignored
