"""Reading a model's structured answer: from its tool call, a cut-off tool call, or JSON text.

Models answer in more ways than they are asked to: a tool call (what we ask for), a tool call
whose arguments were cut off (a length limit), JSON in the message text, JSON in a ```json
fence. All are accepted; a cut-off JSON object is closed if what is there makes a valid answer.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from langchain_core.messages import AIMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)(?:```|$)", re.DOTALL)


class AnswerError(ValueError):
    """An answer that cannot be used; the message says why, for the model to fix."""


def tool_spec(schema: type[BaseModel], name: str) -> dict[str, Any]:
    """The OpenAI tool for a pydantic model, under a snake_case name of our choosing."""
    spec = convert_to_openai_tool(schema)
    spec["function"]["name"] = name
    return spec


def answer_text(message: AIMessage) -> str:
    """The text of an answer (content blocks joined)."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = [block if isinstance(block, str) else str(block.get("text", ""))
             for block in content if isinstance(block, (str, dict))]
    return "".join(parts)


def parse_structured(message: AIMessage, schema: type[M], tool: str) -> tuple[M, bool]:
    """The answer as `schema`, and whether it had to be repaired. AnswerError if unusable."""
    calls = [c for c in message.tool_calls if c["name"] == tool] or (
        list(message.tool_calls) if len(message.tool_calls) == 1 else [])
    if calls:
        return validate(schema, calls[0]["args"]), False
    broken = [c for c in message.invalid_tool_calls if c.get("name") in (tool, None)] or list(
        message.invalid_tool_calls)
    if broken:
        raw = str(broken[0].get("args") or "")
        fixed = close_json(raw)
        if fixed is None:
            raise AnswerError(f"the arguments of {tool} are not valid JSON: {_excerpt(raw)}")
        return validate(schema, fixed), True
    text = answer_text(message).strip()
    if not text:
        raise AnswerError(f"the answer is empty; call {tool}")
    data, repaired = json_in_text(text)
    if data is None:
        raise AnswerError(f"no call of {tool} and no JSON object in the answer: {_excerpt(text)}")
    return validate(schema, data), repaired


def validate(schema: type[M], data: object) -> M:
    if not isinstance(data, dict):
        raise AnswerError(f"expected a JSON object, got {type(data).__name__}")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
                    for err in exc.errors()[:3]]
        raise AnswerError("; ".join(problems)) from exc


def json_in_text(text: str) -> tuple[Any | None, bool]:
    """The first JSON object in a text (fenced or bare), and whether it had to be closed."""
    candidates = [match.group(1) for match in _FENCE.finditer(text)] + [text]
    for candidate in candidates:
        start = candidate.find("{")
        if start < 0:
            continue
        body = candidate[start:]
        end = body.rfind("}")
        if end >= 0:
            try:
                return json.loads(body[: end + 1]), False
            except ValueError:
                pass
        fixed = close_json(body)
        if fixed is not None:
            return fixed, True
    return None, False


def close_json(text: str) -> Any | None:
    """Parse JSON, closing what a cut-off answer left open; None if that does not make JSON.

    Tries the text as it is, then closed after its last complete value, dropping a trailing
    half-written key or value."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    for cut in _cut_points(text):
        closed = _close(text[:cut])
        if closed is None:
            continue
        try:
            return json.loads(closed)
        except ValueError:
            continue
    return None


def _cut_points(text: str) -> list[int]:
    """Where to cut, last first: the end, then before each ',' and after each '{' or '['
    outside strings."""
    points = [len(text)]
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            escaped = char == "\\" and not escaped
            if char == '"' and not escaped:
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in ",{[":
            points.append(index + (0 if char == "," else 1))
    return sorted(set(points), reverse=True)[:50]


def _close(prefix: str) -> str | None:
    """`prefix` with its open string, arrays and objects closed; None if it cannot be."""
    stack: list[str] = []
    in_string = escaped = False
    for char in prefix:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and (not stack or stack.pop() != char):
            return None
    if not stack and not in_string:
        return None  # nothing was open: cutting did not help
    text = prefix + ('"' if in_string else "")
    text = text.rstrip()
    if text.endswith(":"):
        text += " null"
    text = text.rstrip(",")
    return text + "".join(reversed(stack))


def _excerpt(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
