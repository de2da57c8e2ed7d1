"""One request to a chat model, and its canonical form (what is hashed and recorded)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage


@dataclass(frozen=True)
class ModelCall:
    """A request: which role asks, where in the run, the conversation and the offered tools."""

    role: str
    scope: str  # where in the run, e.g. "i0003-s1 code r0"; makes equal prompts of two slots differ
    messages: tuple[BaseMessage, ...]
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | None = None  # a tool's name to force it; None lets the model choose


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


def request_payload(call: ModelCall, model: str) -> dict[str, Any]:
    return {"model": model, "role": call.role, "scope": call.scope,
            "messages": [message_payload(m) for m in call.messages],
            "tools": list(call.tools), "tool_choice": call.tool_choice}


def request_key(payload: dict[str, Any]) -> str:
    """Content hash of a request: equal requests, equal keys, in any run on any machine."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
