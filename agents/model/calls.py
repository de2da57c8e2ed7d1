"""One request to a chat model: the role's call, the request it becomes on a given endpoint,
and its canonical form (what is hashed and recorded)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from adrs.agents.model.capabilities import Capabilities, Sent
from adrs.agents.model.config import RoleSettings
from adrs.agents.model.errors import ModelCallFailed
from adrs.agents.prompts import render


@dataclass(frozen=True)
class ModelCall:
    """What a role asks: the conversation and the offered tools.

    One tool named in `tool_choice` asks for a structured answer (any endpoint can give one);
    several tools are a tool loop, which needs an endpoint that lets the model choose."""

    role: str
    scope: str  # where in the run, e.g. "i0003-s1 code r0"; makes equal prompts of two slots differ
    messages: tuple[BaseMessage, ...]
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | None = None  # a tool's name to force it; None lets the model choose

    @property
    def structured(self) -> bool:
        return len(self.tools) == 1 and self.tool_choice is not None


@dataclass(frozen=True)
class Request:
    """A call as sent to one endpoint: what it accepts, with the role's sampling options."""

    role: str
    scope: str
    messages: tuple[BaseMessage, ...]
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | None = None
    response_format: dict[str, Any] | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    reasoning_effort: str | None = None

    def sent(self) -> Sent:
        return Sent(tools=bool(self.tools), forced=self.tool_choice is not None,
                    response_format=self.response_format is not None,
                    temperature=self.temperature is not None,
                    reasoning_effort=self.reasoning_effort is not None,
                    max_tokens=self.max_tokens is not None)

    def sampling(self) -> dict[str, Any]:
        """The options passed to the chat model, leaving out those not set."""
        options = {"temperature": self.temperature, "max_tokens": self.max_tokens,
                   "reasoning_effort": self.reasoning_effort, "response_format": self.response_format}
        return {name: value for name, value in options.items() if value is not None}

    def chars(self) -> int:
        """Characters of the prompt and tool schemas (for estimating its tokens)."""
        return sum(len(str(m.content)) for m in self.messages) + len(json.dumps(self.tools))


class ToolsUnsupported(ModelCallFailed):
    """A tool loop asked of an endpoint that lets no model choose among tools."""

    def __init__(self, model: str) -> None:
        super().__init__("unsupported", f"{model}: the endpoint does not let the model choose a tool")


def adapt(call: ModelCall, caps: Capabilities, role: RoleSettings) -> Request:
    """The request `call` becomes on an endpoint with `caps`; ToolsUnsupported if it cannot."""
    request = Request(
        role=call.role, scope=call.scope, messages=call.messages, tools=call.tools,
        tool_choice=call.tool_choice,
        temperature=role.temperature if caps.temperature else None,
        max_tokens=role.max_tokens if caps.max_tokens else None,
        reasoning_effort=role.reasoning_effort if caps.reasoning_effort else None)
    if not call.tools:
        return request
    if not call.structured:
        if not caps.tool_loop:
            raise ToolsUnsupported(role.model)
        return request if caps.structured == "tool" else replace(request, tool_choice=None)
    if caps.structured == "tool":
        return request
    if caps.structured == "tool_auto":
        return replace(request, tool_choice=None)
    spec = call.tools[0]["function"]
    ask = render("common", "json_answer", tool=spec["name"],
                 schema=json.dumps(spec["parameters"], sort_keys=True))
    messages = _with_note(call.messages, ask)
    if caps.structured == "json_text":
        return replace(request, messages=messages, tools=(), tool_choice=None)
    schema = {"type": "json_schema",
              "json_schema": {"name": spec["name"], "schema": spec["parameters"], "strict": False}}
    return replace(request, messages=messages, tools=(), tool_choice=None, response_format=schema)


def _with_note(messages: tuple[BaseMessage, ...], note: str) -> tuple[BaseMessage, ...]:
    """The conversation with `note` added to its last user turn (never a second user turn)."""
    last = messages[-1]
    if isinstance(last, HumanMessage) and isinstance(last.content, str):
        return (*messages[:-1], HumanMessage(f"{last.content}\n\n{note}"))
    return (*messages, HumanMessage(note))


def message_payload(message: BaseMessage) -> dict[str, Any]:
    """What of a message reaches the server: no ids, no metadata (they vary between runs)."""
    data: dict[str, Any] = {"type": message.type, "content": message.content}
    if isinstance(message, AIMessage):
        calls = [{"name": c["name"], "args": c["args"], "id": c.get("id")} for c in message.tool_calls]
        calls += [{"name": c.get("name"), "args": c.get("args"), "id": c.get("id")}
                  for c in message.invalid_tool_calls]
        if calls:
            data["tool_calls"] = calls
    if isinstance(message, ToolMessage):
        data["tool_call_id"] = message.tool_call_id
    return data


def request_payload(request: Request, model: str) -> dict[str, Any]:
    payload = {"model": model, "role": request.role, "scope": request.scope,
               "messages": [message_payload(m) for m in request.messages],
               "tools": list(request.tools), "tool_choice": request.tool_choice}
    return {**payload, **request.sampling()}  # absent options leave old keys unchanged


def request_key(payload: dict[str, Any]) -> str:
    """Content hash of a request: equal requests, equal keys, in any run on any machine."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
