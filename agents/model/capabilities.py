"""What one model's endpoint accepts, and the fallback taken when it refuses something.

Servers differ: Ollama answers 400 to `tools` for a model without tool support, llama.cpp's
server 500 without `--jinja`, vLLM 400 to an automatic tool choice unless started for it, and
OpenAI's reasoning models refuse `temperature`. Structured answers (plans, verdicts, findings)
are therefore asked for in the best way the endpoint accepts, stepping down on a refusal:

    tool         a call of a named tool (tool_choice)
    tool_auto    the tool offered, the model free to call it
    json_schema  JSON text constrained by response_format (a JSON schema)
    json_text    JSON text, with the schema in the prompt

Sampling options a server refuses (temperature, reasoning_effort, max_tokens) are left out.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Structured = Literal["tool", "tool_auto", "json_schema", "json_text"]
STRUCTURED: tuple[Structured, ...] = ("tool", "tool_auto", "json_schema", "json_text")
Feature = Literal["tool_choice", "tools", "tool_loop", "response_format", "temperature",
                  "reasoning_effort", "max_tokens"]


@dataclass(frozen=True)
class Sent:
    """The optional parts a request carried: what a refusal can be about."""

    tools: bool = False
    forced: bool = False  # a named tool_choice
    response_format: bool = False
    temperature: bool = False
    reasoning_effort: bool = False
    max_tokens: bool = False


class Capabilities(BaseModel):
    """What a model's endpoint accepts; each refusal it made is kept with the server's words."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    structured: Structured = Field("tool", description="How structured answers are asked for.")
    tool_loop: bool = Field(True, description="Tools the model may choose among (the "
                                              "evaluator's tool loop).")
    temperature: bool = True
    reasoning_effort: bool = True
    max_tokens: bool = True
    refusals: tuple[str, ...] = Field((), description="What was refused and the server's reason.")

    def without(self, feature: Feature, reason: str) -> Capabilities:
        """These capabilities after the server refused `feature` for `reason`."""
        update: dict[str, object] = {"refusals": (*self.refusals, f"{feature}: {reason}")}
        if feature == "tool_choice":
            update["structured"] = "tool_auto" if self.structured == "tool" else self.structured
        elif feature == "tool_loop":  # the model may not choose: only a named tool works
            update["tool_loop"] = False
            if self.structured == "tool_auto":
                update["structured"] = "json_schema"
        elif feature == "tools":
            update.update(tool_loop=False, structured=_at_least(self.structured, "json_schema"))
        elif feature == "response_format":
            update["structured"] = "json_text"
        else:
            update[feature] = False
        return self.model_copy(update=update)

    def can_refuse(self, feature: Feature) -> bool:
        """Whether stepping down for `feature` changes anything (else the refusal is final)."""
        return self.without(feature, "").model_dump(exclude={"refusals"}) != \
            self.model_dump(exclude={"refusals"})

    def describe(self) -> str:
        """One line: the structured mode and what is left out."""
        dropped = [name for name in ("temperature", "reasoning_effort", "max_tokens")
                   if not getattr(self, name)]
        if not self.tool_loop:
            dropped.insert(0, "tool choice by the model")
        mode = {"tool": "tool calls", "tool_auto": "tool calls (model's choice)",
                "json_schema": "JSON with a schema", "json_text": "JSON in text"}[self.structured]
        return mode + (f"; without {', '.join(dropped)}" if dropped else "")


class ModelFallbackWarning(UserWarning):
    """A server refused part of a request; adrs steps down and says so once."""


class CapabilityBook:
    """The capabilities of each model of a team: given by the run's settings (probed at its
    start), else the defaults; a refusal met later steps the model down for the rest of the run."""

    def __init__(self, known: Mapping[str, Capabilities], default: Capabilities) -> None:
        self._known = dict(known)
        self._default = default
        self._lock = threading.Lock()

    def get(self, model: str) -> Capabilities:
        with self._lock:
            return self._known.get(model, self._default)

    def learn(self, model: str, feature: Feature, reason: str) -> bool:
        """Step `model` down after a refusal of `feature`; False if nothing is left to drop."""
        with self._lock:
            current = self._known.get(model, self._default)
            if not current.can_refuse(feature):
                return False
            self._known[model] = current.without(feature, reason)
            now = self._known[model].describe()
        warnings.warn(f"model {model}: the server refused {feature.replace('_', ' ')} "
                      f"({reason}); from now on: {now}", ModelFallbackWarning, stacklevel=2)
        return True

    def snapshot(self) -> dict[str, Capabilities]:
        with self._lock:
            return dict(self._known)


def _at_least(current: Structured, floor: Structured) -> Structured:
    return max(current, floor, key=STRUCTURED.index)
