"""Reading a model's structured answer as a careful person would.

Models answer in more ways than they are asked to: a tool call (what we ask for), a tool call
whose arguments were cut off, JSON in the text or in a ```json fence, a Hermes-style
{"name", "arguments"} object in the text (with or without <tool_call> tags), a bare list where
an object holding the list was asked for, all of it possibly after <think>...</think> reasoning.
All are accepted. A cut-off JSON object is closed when what is there makes a valid answer; of a
list cut at the length limit, the complete items are kept.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from langchain_core.messages import AIMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)(?:```|$)", re.DOTALL)
_THINK = re.compile(r"<(think|thinking|reasoning)>.*?(?:</\1>|$)", re.DOTALL | re.IGNORECASE)
_STRAY_CLOSE = re.compile(r"^.*?</(think|thinking|reasoning)>", re.DOTALL | re.IGNORECASE)
_REASONING_BLOCKS = {"thinking", "reasoning", "reasoning_content"}


class AnswerError(ValueError):
    """An answer that cannot be used; the message says why, for the model to fix."""


@functools.cache
def tool_spec(schema: type[BaseModel], name: str) -> dict[str, Any]:
    """The OpenAI tool for a pydantic model, under a snake_case name of our choosing; built once
    per schema (a JSON schema per structured call was a measurable share of a call's cost), so
    callers must not change it."""
    spec = convert_to_openai_tool(schema)
    spec["function"]["name"] = name
    return spec


def answer_text(message: AIMessage) -> str:
    """The visible text of an answer: content blocks joined, reasoning left out."""
    content = message.content
    if isinstance(content, str):
        return strip_thinking(content)
    parts = [block if isinstance(block, str) else str(block.get("text", ""))
             for block in content if isinstance(block, str) or (
                 isinstance(block, dict) and block.get("type") not in _REASONING_BLOCKS)]
    return strip_thinking("".join(parts))


def strip_thinking(text: str) -> str:
    """`text` without <think>…</think> reasoning (an unclosed one runs to the end: it was cut).

    A closing tag without its opening one (some servers strip the opening tag) ends reasoning
    that began at the start."""
    text = _THINK.sub("", text)
    return _STRAY_CLOSE.sub("", text, count=1).strip()


def was_cut(message: AIMessage) -> bool:
    """Whether the server stopped the answer at its length limit."""
    return message.response_metadata.get("finish_reason") == "length"


def answer_as_text(message: AIMessage, limit: int = 2000) -> str:
    """An answer as plain text, to show it back to the model in a re-ask (a tool call without
    its tool result is not allowed in a conversation, so calls are written out as JSON)."""
    text = answer_text(message)
    if not text:
        calls = [{"name": c["name"], "arguments": c["args"]} for c in message.tool_calls]
        calls += [{"name": c.get("name"), "arguments": c.get("args")}
                  for c in message.invalid_tool_calls]
        text = "\n".join(json.dumps(c, ensure_ascii=False) for c in calls) or "(an empty answer)"
    return text if len(text) <= limit else text[:limit] + " [… cut]"


def parse_structured(message: AIMessage, schema: type[M], tool: str) -> tuple[M, bool]:
    """The answer as `schema`, and whether it had to be repaired. AnswerError if unusable."""
    cut = was_cut(message)
    calls = [c for c in message.tool_calls if c["name"] == tool] or (
        list(message.tool_calls) if len(message.tool_calls) == 1 else [])
    if calls:
        return fit(schema, calls[0]["args"], tool, partial=cut)
    broken = [c for c in message.invalid_tool_calls if c.get("name") in (tool, None)] or list(
        message.invalid_tool_calls)
    if broken:
        raw = str(broken[0].get("args") or "")
        closed = closed_json(raw)
        if closed is None:
            raise AnswerError(f"the arguments of {tool} are not valid JSON: {_excerpt(raw)}")
        value, closing = closed
        return fit(schema, value, tool, partial=True, cut_item=closing.inside_an_item())[0], True
    text = answer_text(message)
    if not text:
        raise AnswerError(f"the answer is empty{' (cut at the length limit)' if cut else ''}; "
                          f"call {tool}")
    data, closing = json_in_text(text)
    if data is None:
        raise AnswerError(f"no call of {tool} and no JSON object in the answer: {_excerpt(text)}")
    closed = closing is not None and closing.appended != ""
    value, dropped = fit(schema, data, tool, partial=cut or closed,
                         cut_item=closing is not None and closing.inside_an_item())
    return value, closed or dropped


def fit(schema: type[M], data: object, tool: str, *, partial: bool = False,
        cut_item: bool = False) -> tuple[M, bool]:
    """`data` as `schema`, unwrapping the forms models use. Of a cut answer (`partial`) the
    complete items of its list are kept, `cut_item` saying the last one was being written when
    the cut came. Returns the value and whether items were dropped."""
    data = _unwrap(data, tool, schema)
    if not (partial and cut_item):
        try:
            return validate(schema, data), False
        except AnswerError:
            if not partial:
                raise
    kept = _complete_items(schema, data, drop_last=cut_item)
    if kept is not None:
        return kept, True
    if cut_item:
        raise AnswerError(f"the answer was cut off at the length limit before one of its "
                          f"{_list_fields(schema)[0]} was complete")
    return validate(schema, data), False  # raises with the problem for the model to fix


def validate(schema: type[M], data: object) -> M:
    if not isinstance(data, dict):
        raise AnswerError(f"expected a JSON object, got {type(data).__name__}")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
                    for err in exc.errors()[:3]]
        raise AnswerError("; ".join(problems)) from exc


def _unwrap(data: object, tool: str, schema: type[BaseModel]) -> object:
    """A Hermes-style {"name", "arguments"} call becomes its arguments; a bare list becomes the
    object holding it, when the schema has one list field."""
    if isinstance(data, dict) and set(data) <= {"name", "arguments", "parameters", "type", "id"} \
            and "name" in data and ("arguments" in data or "parameters" in data):
        inner = data.get("arguments", data.get("parameters"))
        data = (close_json(inner) if isinstance(inner, str) else inner) or {}
    lists = _list_fields(schema)
    if isinstance(data, list) and len(lists) == 1:
        data = {lists[0]: data}
    return data


def _complete_items(schema: type[M], data: object, *, drop_last: bool) -> M | None:
    """The answer with the invalid (and, if cut inside it, the last) items of its one list
    field dropped, if any valid remain."""
    lists = _list_fields(schema)
    if len(lists) != 1 or not isinstance(data, dict) or not isinstance(data.get(lists[0]), list):
        return None
    items = data[lists[0]][:-1] if drop_last else data[lists[0]]
    item_type = schema.model_fields[lists[0]].annotation.__args__[0]  # list[Item]
    good = []
    for item in items:
        try:
            good.append(item_type.model_validate(item))
        except ValidationError:
            continue
    if not good:
        return None
    try:
        return schema.model_validate({**data, lists[0]: [g.model_dump() for g in good]})
    except ValidationError:
        return None


def _list_fields(schema: type[BaseModel]) -> list[str]:
    return [name for name, field in schema.model_fields.items()
            if getattr(field.annotation, "__origin__", None) is list]


@dataclass(frozen=True)
class Closing:
    """How a cut-off JSON text was made whole: what was appended, and what was dropped."""

    appended: str = ""
    dropped: str = ""

    def inside_an_item(self) -> bool:
        """Whether the cut fell inside an object of a list (an item being written), rather than
        between two items: a string or a value had to be closed or dropped there."""
        in_list_item = "}]" in self.appended.replace('"', "").replace(" null", "")
        return in_list_item and (self.appended.startswith(('"', " null")) or bool(self.dropped))


def json_in_text(text: str) -> tuple[Any | None, Closing | None]:
    """The first JSON object or list of objects in a text (fenced or bare), and how it was
    closed when the text stopped inside it (a cut answer; None when it was whole)."""
    candidates = [match.group(1) for match in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        for start, char in enumerate(candidate):
            if char not in "{[":
                continue
            try:
                value, _ = decoder.raw_decode(candidate, start)
            except ValueError:
                if _open_to_the_end(candidate[start:]):  # cut: never look inside it
                    closed = closed_json(candidate[start:])
                    if closed is not None:
                        return closed
                    break
                continue
            if isinstance(value, dict) or (isinstance(value, list) and value
                                           and all(isinstance(v, dict) for v in value)):
                return value, None
    return None, None


def _open_to_the_end(text: str) -> bool:
    """Whether the value opened by text's first character is still open where the text ends."""
    depth = 0
    for _, char in _structure(text):
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return False
    return True


def _structure(text: str) -> Iterator[tuple[int, str]]:
    """(index, character) of `text` outside JSON string literals, and the quotes that open and
    close them: the one scanner of the helpers below (an escaped quote stays inside)."""
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
                yield index, char
            continue
        if char == '"':
            in_string = True
        yield index, char


def close_json(text: str) -> Any | None:
    """Parse JSON, closing what a cut-off answer left open; None if that does not make JSON."""
    closed = closed_json(text)
    return closed[0] if closed else None


def closed_json(text: str) -> tuple[Any, Closing] | None:
    """JSON parsed, closing what a cut-off answer left open, and how it was closed.

    Tries the text as it is, then closed after its last complete value, dropping a trailing
    half-written key or value. None if that does not make JSON."""
    text = text.strip()
    try:
        return json.loads(text), Closing()
    except ValueError:
        pass
    for cut in _cut_points(text):
        closed = _close(text[:cut])
        if closed is None:
            continue
        try:
            value = json.loads(closed)
        except ValueError:
            continue
        kept = os.path.commonprefix([closed, text[:cut]])
        return value, Closing(appended=closed[len(kept):], dropped=text[len(kept):].strip(" ,"))
    return None


def _cut_points(text: str) -> list[int]:
    """Where to cut, last first: the end, then before each ',' and after each '{' or '['
    outside strings."""
    points = [len(text)]
    for index, char in _structure(text):
        if char in ",{[":
            points.append(index + (0 if char == "," else 1))
    return sorted(set(points), reverse=True)[:50]


def _close(prefix: str) -> str | None:
    """`prefix` with its open string, arrays and objects closed; None if it cannot be."""
    stack: list[str] = []
    quotes = 0
    for _, char in _structure(prefix):
        if char == '"':
            quotes += 1
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and (not stack or stack.pop() != char):
            return None
    in_string = quotes % 2 == 1
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
