"""The run command's model options: flags and a TOML config file, merged into RunSettings."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adrs.graph.settings import OFFLINE, ROLES, ModelSettings, RunSettings, SettingsError


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
    max_concurrent_requests: int | None = None
    team: str | None = None

    def given_names(self) -> list[str]:
        """The model names given on the command line (any role)."""
        return [name for name in (self.model, *(getattr(self, role) for role in ROLES)) if name]

    def given(self) -> dict[str, object]:
        """The flags by their field names, None if not given."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# Options of one role, in its [model.<role>] table or, for every role, in [model].
_ROLE_OPTIONS = frozenset({"temperature", "max_tokens", "reasoning_effort"})
# [model] keys of a config file besides the model names and the roles' options.
_MODEL_KEYS = frozenset(ModelSettings.model_fields) - {*ROLES, "prices", "replay_from",
                                                       "capabilities"}
_BUDGET_KEYS = frozenset({"max_dollars", "max_tokens", "max_evaluations", "max_minutes"})


def read_config(path: Path) -> dict[str, Any]:
    """A TOML config file as plain values: {"model": {...}, "prices": {...}, "budget": {...}}.

        [model]
        name = "gpt-4.1-mini"          # every role unless named below
        temperature = 0.2              # every role unless set for the role
        [model.planner]
        name = "o4-mini"
        reasoning_effort = "high"
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
    tables = {role: model[role] for role in ROLES if isinstance(model.get(role), dict)}
    keys = [*model, *(f"{role}.{key}" for role, table in tables.items() for key in table)]
    secret = sorted(key for key in keys if "key" in key.lower()
                    or key.split(".")[-1].lower() in ("token", "secret", "password"))
    if secret:
        raise SettingsError(f"config {path}: no API keys in config files ({secret[0]}); "
                            "set OPENAI_API_KEY in the environment")
    bad = sorted(set(model) - _MODEL_KEYS - _ROLE_OPTIONS - {*ROLES, "name"})
    bad += sorted(f"{role}.{key}" for role, table in tables.items()
                  for key in set(table) - _ROLE_OPTIONS - {"name"})
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
    role's own name wins over the name for every role; a role named nowhere gets the offline
    brain."""
    config = config or {"model": {}, "prices": {}}
    own_table = dict(config.get("model", {}))
    table = {**(defaults or {}), **own_table}
    named = table.pop("name", None)  # popped even when --model wins, so it is not left over
    default = flags.model or named
    shared = {key: table.pop(key) for key in _ROLE_OPTIONS if key in table}
    team = flags.team or table.get("team")
    roles = {}
    for role in ROLES:
        given = table.pop(role, None)
        options = dict(given) if isinstance(given, dict) else {"name": given}
        own = options.pop("name", None)
        # A lean team asks one model call per candidate: its critic and evaluator are the
        # offline ones unless named on their own.
        shared_name = None if team == "lean" and role in ("critic", "evaluator") else default
        name = getattr(flags, role) or own or shared_name
        roles[role] = {**shared, **options, "model": name or OFFLINE}
    if all(role["model"] == OFFLINE for role in roles.values()):
        # Only the user's own options are an error without a model; a problem's defaults are not.
        if flags.base_url or flags.team or flags.record is not None or own_table \
                or config.get("prices") or flags.max_concurrent_requests:
            raise SettingsError("model options given but no model: pass --model NAME "
                                "(or name one in the config's [model] table)")
        return None
    values: dict[str, Any] = {**table, **roles, "prices": config.get("prices", {})}
    for name in ("base_url", "record", "max_concurrent_requests", "team"):
        if getattr(flags, name) is not None:
            values[name] = getattr(flags, name)
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
