"""The run command's model options: flags and a TOML config file, merged into RunSettings."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adrs.graph.settings import ROLES, ModelSettings, RunSettings, SettingsError


@dataclass(frozen=True)
class ModelFlags:
    """The model options of the command line; None where a flag was not given."""

    model: str | None = None
    planner: str | None = None
    coder: str | None = None
    critic: str | None = None
    evaluator: str | None = None
    base_url: str | None = None
    record: bool | None = None

    def given_names(self) -> list[str]:
        """The model names given on the command line (any role)."""
        return [name for name in (self.model, *(getattr(self, role) for role in ROLES)) if name]

    def given(self) -> dict[str, object]:
        """The flags by their command-line names (`planner_model`, ...), None if not given."""
        names = {role: f"{role}_model" for role in ROLES}
        return {names.get(name, name): getattr(self, name) for name in self.__dataclass_fields__}


# [model] keys of a config file besides the model names.
_MODEL_KEYS = frozenset(ModelSettings.model_fields) - {*ROLES, "prices", "replay_from"}
_BUDGET_KEYS = frozenset({"max_dollars", "max_tokens", "max_evaluations", "max_minutes"})


def read_config(path: Path) -> dict[str, Any]:
    """A TOML config file as plain values: {"model": {...}, "prices": {...}, "budget": {...}}.

        [model]
        name = "gpt-4.1-mini"          # every role unless named below
        planner = "o4-mini"
        base_url = "http://localhost:8000/v1"
        [prices."gpt-4.1-mini"]
        input = 0.4                    # dollars per million tokens
        output = 1.6
        [budget]
        max_dollars = 5.0
    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config {path} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"model", "prices", "budget"})
    if unknown:
        raise SettingsError(f"config {path}: unknown table(s) {', '.join(unknown)} "
                            "(expected [model], [prices.\"<name>\"], [budget])")
    model = dict(data.get("model", {}))
    secret = sorted(key for key in model
                    if "key" in key.lower() or key.lower() in ("token", "secret", "password"))
    if secret:
        raise SettingsError(f"config {path}: no API keys in config files ({secret[0]}); "
                            "set OPENAI_API_KEY in the environment")
    bad = sorted(set(model) - _MODEL_KEYS - {*ROLES, "name"})
    if bad:
        raise SettingsError(f"config {path}: unknown [model] key(s) {', '.join(bad)}")
    budget = dict(data.get("budget", {}))
    bad = sorted(set(budget) - _BUDGET_KEYS)
    if bad:
        raise SettingsError(f"config {path}: unknown [budget] key(s) {', '.join(bad)}")
    return {"model": model, "prices": dict(data.get("prices", {})), "budget": budget}


def model_settings(flags: ModelFlags, config: dict[str, Any] | None,
                   defaults: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The model settings as values (validated later with the run's), or None for offline.

    Flags win over the file, the file over `defaults` (what a problem's config.yaml says); a
    role's own name wins over the name for every role."""
    config = config or {"model": {}, "prices": {}}
    table = {**(defaults or {}), **config.get("model", {})}
    named = table.pop("name", None)  # popped even when --model wins, so it is not left over
    default = flags.model or named
    names = {role: getattr(flags, role) or table.pop(role, None) or default for role in ROLES}
    for role in ROLES:
        table.pop(role, None)
    if not any(names.values()):
        if flags.base_url or table or config.get("prices"):
            raise SettingsError("model options given but no model: pass --model NAME "
                                "(or name one in the config's [model] table)")
        return None
    missing = [role for role in ROLES if not names[role]]
    if missing:
        raise SettingsError(f"no model for the {missing[0]}: pass --model NAME or "
                            f"--{missing[0]}-model NAME")
    values: dict[str, Any] = {**table, **names, "prices": config.get("prices", {})}
    if flags.base_url:
        values["base_url"] = flags.base_url
    if flags.record is not None:
        values["record"] = flags.record
    return values


def run_settings(problem: str, *, default_iterations: int, values: dict[str, Any],
                 flags: ModelFlags, config: Path | None,
                 model_defaults: dict[str, Any] | None = None) -> RunSettings:
    """A new run's settings: the command line's values, over the config file's [budget] and
    the problem's default iterations; the model brain when a model is named anywhere (the
    problem's config.yaml included: `model_defaults`)."""
    file_values = read_config(config) if config else None
    models = model_settings(flags, file_values, model_defaults)
    merged: dict[str, Any] = dict((file_values or {}).get("budget", {}))
    merged.update({key: value for key, value in values.items() if value is not None})
    merged.setdefault("iterations", default_iterations)
    return RunSettings.build(problem=problem, brain="model" if models else None, model=models,
                             **merged)


