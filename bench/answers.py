"""What the benchmarks' stand-in model answers, by role (the same for every client).

The role is read from the tools a request offers (adrs's planner, critic and evaluator call a
tool; the coder and OpenEvolve ask for SEARCH/REPLACE text). The coder moves the constant X of
the bench problems to a value never proposed before, so every candidate is a new program; so
does adrs's planner when its tool asks for the edit too (`--team lean`).
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

_values = itertools.count(1)
_ids = itertools.count(1)
ROLE_TOOLS = (("planner", "submit_plans"), ("critic", "submit_verdict"),
              ("evaluator", "write_findings"))


def role_of(body: dict[str, Any]) -> str:
    names = {tool["function"]["name"] for tool in body.get("tools") or []}
    return next((role for role, tool in ROLE_TOOLS if tool in names), "coder")


def _text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    return content if isinstance(content, str) else " ".join(part.get("text", "") for part in content)


def answer(body: dict[str, Any]) -> dict[str, Any]:
    """The assistant message for one chat-completions request body."""
    role = role_of(body)
    users = [_text(m) for m in body["messages"] if m["role"] == "user"]
    if role == "planner":
        parent = re.search(r"# Suggested parent: (i\d{4,}-s\d+)\n```\w*\n(.*?)\n```",
                           users[0] if users else "", flags=re.DOTALL)
        plan = {"parent": parent.group(1) if parent else "i0000-s0", "summary": "Move X",
                "hypothesis": "X is far from where the score peaks.", "change": "set X",
                "expected_effect": "combined_score up"}
        if "\"edit\": {" in json.dumps(body.get("tools")):  # the lean planner's schema
            plan["edit"] = _move_x(parent.group(2) if parent else "")
        return _call("submit_plans", {"plans": [plan]})
    if role == "critic":
        return _call("submit_verdict", {"decision": "approve", "reasons": ["Matches the plan."]})
    if role == "evaluator":
        return _call("write_findings", {"summary": "Scored.", "details": "See the figures."})
    return {"role": "assistant",
            "content": f"Move X.\n\n{_move_x(chr(10).join(_text(m) for m in body['messages']))}"}


def _move_x(program: str) -> str:
    """A SEARCH/REPLACE block that sets the last `X = ...` of the text to a new value."""
    old = re.findall(r"^X = (-?\d+)$", program, flags=re.MULTILINE)
    return (f"<<<<<<< SEARCH\nX = {old[-1] if old else 0}\n=======\nX = {next(_values)}\n"
            f">>>>>>> REPLACE\n")


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [{
        "id": f"call_{next(_ids)}", "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)}}]}


def completion(body: dict[str, Any]) -> dict[str, Any]:
    message = answer(body)
    return {"id": f"chatcmpl-{next(_ids)}", "object": "chat.completion", "created": 0,
            "model": body.get("model", "bench-model"),
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}}
