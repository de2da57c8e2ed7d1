"""Loopback servers that behave like the real ones where it matters, as layers over the toy
responder. The status codes and error bodies are the servers' own (see agents/model/refusals.py
for where they were seen):

  Ollama       400 for tools with a model that has none; 404 for a model not pulled
  LlamaCpp     500 for tools without --jinja; one slot that queues; 400 past its context
  Vllm         400 for a tool choice left to the model, unless started for it
  OpenAI       400 for temperature on a reasoning model, for reasoning_effort on another
  Thinking     <think> reasoning (with draft answers) before the answer
  Hermes       tool calls written in the text as {"name", "arguments"}, not parsed
  CutOnce      the planner's and the coder's first answers cut at the length limit
  Chatty       the coder's first answers: a changed line, an unclosed code block
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from tests.agents.model.loopback import Reply, completion
from tests.agents.model.toy_server import ToyResponder, role_of

Responder = Callable[[dict[str, Any]], Reply]


def error(status: int, message: str, **fields: Any) -> Reply:
    return Reply(status, {"error": {"message": message, **fields}})


class Layer:
    """A server behaviour over an inner responder (the toy model by default)."""

    def __init__(self, inner: Responder | None = None) -> None:
        self.inner = inner or ToyResponder()

    def __call__(self, body: dict[str, Any]) -> Reply:
        return self.inner(body)


class Ollama(Layer):
    def __init__(self, inner: Responder | None = None, *, tools: bool = False,
                 models: tuple[str, ...] = ("gemma3:4b",)) -> None:
        super().__init__(inner)
        self.tools = tools
        self.models = models

    def __call__(self, body: dict[str, Any]) -> Reply:
        name = body["model"]
        if name not in self.models:
            return error(404, f'model "{name}" not found, try pulling it first',
                         type="api_error", param=None, code=None)
        if body.get("tools") and not self.tools:
            return error(400, f"registry.ollama.ai/library/{name} does not support tools",
                         type="api_error", param=None, code=None)
        return self.inner(body)


class LlamaCpp(Layer):
    def __init__(self, inner: Responder | None = None, *, jinja: bool = False, slots: int = 4,
                 seconds: float = 0.0, n_ctx: int = 100_000) -> None:
        super().__init__(inner)
        self.jinja = jinja
        self.seconds = seconds
        self.n_ctx = n_ctx
        self._slots = threading.Semaphore(slots)
        self.most_waiting = 0  # requests at the server at once, in its queue or its slots
        self._waiting = 0
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        if body.get("tools") and not self.jinja:
            return error(500, "tools param requires --jinja flag", code=500, type="server_error")
        tokens = len(json.dumps(body["messages"])) // 4
        if tokens > self.n_ctx:
            return error(400, "the request exceeds the available context size, try increasing it",
                         code=400, type="exceed_context_size_error", n_prompt_tokens=tokens,
                         n_ctx=self.n_ctx)
        with self._lock:
            self._waiting += 1
            self.most_waiting = max(self.most_waiting, self._waiting)
        try:
            with self._slots:  # a request beyond the slots waits here, in the server's queue
                time.sleep(self.seconds)  # generating
                return self.inner(body)
        finally:
            with self._lock:
                self._waiting -= 1


class Vllm(Layer):
    """Started without --enable-auto-tool-choice; recent versions refuse a named choice too."""

    def __init__(self, inner: Responder | None = None, *, named: bool = True) -> None:
        super().__init__(inner)
        self.named = named

    def __call__(self, body: dict[str, Any]) -> Reply:
        choice = body.get("tool_choice", "auto")
        if body.get("tools") and (choice == "auto" or not self.named):
            which = '"auto"' if choice == "auto" else "named"
            return Reply(400, {"object": "error", "message": f"{which} tool choice requires "
                               "--enable-auto-tool-choice and --tool-call-parser to be set",
                               "type": "BadRequestError", "param": None, "code": 400})
        return self.inner(body)


class OpenAI(Layer):
    """OpenAI's rules on sampling options: a reasoning model (o1, o3, o4-mini...) refuses
    temperature, another model refuses reasoning_effort. `reasoning` None: by the model's name."""

    def __init__(self, inner: Responder | None = None, *, reasoning: bool | None = None) -> None:
        super().__init__(inner)
        self.reasoning = reasoning

    def __call__(self, body: dict[str, Any]) -> Reply:
        reasoning = self.reasoning if self.reasoning is not None else \
            body["model"][:1] == "o" and body["model"][1:2].isdigit()
        if reasoning and "temperature" in body:
            return error(400, "Unsupported parameter: 'temperature' is not supported with this "
                              "model.", type="invalid_request_error", param="temperature",
                         code="unsupported_parameter")
        if not reasoning and "reasoning_effort" in body:
            return error(400, "Unrecognized request argument supplied: reasoning_effort",
                         type="invalid_request_error", param=None, code=None)
        return self.inner(body)


def _content_reply(reply: Reply, transform: Callable[[dict[str, Any]], None]) -> Reply:
    """The reply with its message changed in place (a copy of its body)."""
    if reply.body is None or "choices" not in reply.body:
        return reply
    body = json.loads(json.dumps(reply.body))
    transform(body["choices"][0])
    return Reply(reply.status, body, reply.delay, reply.raw, reply.headers)


class Thinking(Layer):
    """A reasoning model served without a reasoning parser: its thoughts come in the text,
    drafts included (a SEARCH/REPLACE block that does not apply, a plan on no parent)."""

    DRAFTS = {"coder": "<<<<<<< SEARCH\nWIDTH = 999\n=======\nWIDTH = 1000\n>>>>>>> REPLACE",
              "planner": '{"plans": [{"parent": "nowhere"}]}'}

    def __call__(self, body: dict[str, Any]) -> Reply:
        draft = self.DRAFTS.get(role_of(body), "Let me think.")

        def think(choice: dict[str, Any]) -> None:
            message = choice["message"]
            message["content"] = f"<think>\nA first draft:\n{draft}\nNo, better:\n</think>\n" \
                                 f"{message.get('content') or ''}"
        return _content_reply(self.inner(body), think)


class Hermes(Layer):
    """Tools offered to a model whose server does not parse its tool calls: the call comes as
    text, the Hermes way."""

    def __call__(self, body: dict[str, Any]) -> Reply:
        def as_text(choice: dict[str, Any]) -> None:
            message = choice["message"]
            calls = message.pop("tool_calls", None) or []
            message["content"] = "\n".join(
                "<tool_call>\n" + json.dumps({"name": c["function"]["name"],
                                              "arguments": json.loads(c["function"]["arguments"])})
                + "\n</tool_call>" for c in calls) or message.get("content")
            choice["finish_reason"] = "stop"
        return _content_reply(self.inner(body), as_text)


class CutOnce(Layer):
    """The first planner answer holds one complete plan and half of a second; the first coder
    answer stops inside its SEARCH/REPLACE block. Both end with finish_reason "length"."""

    def __init__(self, inner: Responder | None = None) -> None:
        super().__init__(inner)
        self.cut: set[str] = set()

    def __call__(self, body: dict[str, Any]) -> Reply:
        role = role_of(body)
        reply = self.inner(body)
        if role not in ("planner", "coder") or role in self.cut:
            return reply
        self.cut.add(role)

        def cut(choice: dict[str, Any]) -> None:
            message = choice["message"]
            if role == "coder":
                message["content"] = message["content"][: message["content"].index("=======") + 9]
            else:  # a tool call's arguments, or JSON text
                calls = message.get("tool_calls")
                raw = calls[0]["function"]["arguments"] if calls else message["content"]
                plans = json.loads(raw)["plans"]
                whole = json.dumps({"plans": [plans[0], {**plans[0], "summary": "Raise WIDTH more"}]})
                kept = whole[: whole.index('"hypothesis"', len(whole) // 2)]
                if calls:
                    calls[0]["function"]["arguments"] = kept
                else:
                    message["content"] = kept
            choice["finish_reason"] = "length"
        return _content_reply(reply, cut)


class Chatty(Layer):
    """The coder's first answers talk around the code: a snippet of the changed line, then a
    code block that is never closed. Only the third answer is a proper edit."""

    SNIPPETS = ("Sure! Here's the changed line:\n```python\nWIDTH = 9\n```\nThat should help.",
                "Happy to help. The new region:\n```python\nWIDTH = 9\nRATE = 1.0\n\n\ndef cho")

    def __init__(self, inner: Responder | None = None) -> None:
        super().__init__(inner)
        self.sent = 0

    def __call__(self, body: dict[str, Any]) -> Reply:
        if role_of(body) != "coder" or self.sent >= len(self.SNIPPETS):
            return self.inner(body)
        self.sent += 1
        return Reply(body=completion(content=self.SNIPPETS[self.sent - 1], usage=(500, 40)))


class Refusing(Layer):
    """A server that refuses every request the same way."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(None)
        self.reply = reply

    def __call__(self, body: dict[str, Any]) -> Reply:
        return self.reply
