"""What a failed request means: retry it, send it again without a feature, or stop the run.

The server's own words decide, as a careful person would read them: the status, and the error
body's message, type, param and code. The phrases below are the ones real servers send:

    Ollama     400 "registry.ollama.ai/library/gemma3:4b does not support tools"
               404 'model "x" not found, try pulling it first'
    llama.cpp  500 "tools param requires --jinja flag"
               400 "the request exceeds the available context size ..." (exceed_context_size_error)
    vLLM       400 '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser'
               400 "This model's maximum context length is 4096 tokens. However, you requested ..."
    OpenAI     400 "Unsupported parameter: 'temperature' is not supported with this model."
               400 context_length_exceeded; 429 insufficient_quota
"""

from __future__ import annotations

from dataclasses import dataclass

import openai

from adrs.agents.model.capabilities import Feature, Sent

FATAL_STATUSES = {401: "the API key was refused", 403: "access denied",
                  404: "unknown model or endpoint"}
_CONTEXT = ("context_length_exceeded", "maximum context length", "context size", "context window",
            "exceed_context_size", "prompt is too long", "too many tokens",
            "input tokens exceed", "context length")


@dataclass(frozen=True)
class Retry:
    """A passing fault: wait and send the same request again."""

    kind: str  # a transient FAULT_KIND


@dataclass(frozen=True)
class StepDown:
    """The server refused a feature; the same request without it may work."""

    feature: Feature
    reason: str


@dataclass(frozen=True)
class Fatal:
    """No fallback can fix this request; the run stops with this line."""

    reason: str


Diagnosis = Retry | StepDown | Fatal


def diagnose(exc: BaseException, sent: Sent) -> Diagnosis | None:
    """What to do about an exception a chat model raised; None if it is not a model fault."""
    if isinstance(exc, openai.APITimeoutError):
        return Retry("timeout")
    if isinstance(exc, openai.APIConnectionError):
        return Retry("connection")
    if isinstance(exc, openai.APIStatusError):
        return _status(exc.status_code, server_reason(exc), _field(exc, "param"),
                       _field(exc, "code"), sent)
    if isinstance(exc, (openai.OpenAIError, ValueError, TypeError, KeyError)):
        # A body the client could not read (cut-off JSON, null choices...): the server's fault.
        return Retry("bad_response")
    return None


def _status(status: int, reason: str, param: str, code: str, sent: Sent) -> Diagnosis:
    said = f"server said {status}: {reason}"
    if status in FATAL_STATUSES:
        return Fatal(f"{FATAL_STATUSES[status]} ({said})")
    if status == 429:
        return Fatal(f"the account is out of quota ({said})") if code == "insufficient_quota" \
            else Retry("rate_limit")
    if status == 408:
        return Retry("timeout")
    text = f"{reason} {param} {code}".lower()
    if any(marker in text for marker in _CONTEXT) or status == 413:
        return Fatal(f"the prompt does not fit the model's context; give the server a longer "
                     f"context ({said})")
    feature = refused_feature(text, sent)
    if feature is not None and status in (400, 422, 500, 501):
        return StepDown(feature, reason)
    if status >= 500 or status == 409:
        return Retry("server_error")
    return Fatal(f"the request was refused ({said})")


def refused_feature(text: str, sent: Sent) -> Feature | None:
    """The optional part of the request a refusal's text is about, if the request had it."""
    if sent.temperature and "temperature" in text:
        return "temperature"
    if sent.reasoning_effort and "reasoning" in text:
        return "reasoning_effort"
    if sent.max_tokens and ("max_tokens" in text or "max_completion_tokens" in text):
        return "max_tokens"
    if sent.tools and ("tool_choice" in text or "tool choice" in text):
        return "tool_choice" if sent.forced else "tool_loop"
    if sent.tools and any(word in text for word in ("tool", "function", "jinja")):
        return "tools"
    if sent.response_format and any(word in text for word in ("response_format", "json_schema",
                                                              "schema", "grammar", "format")):
        return "response_format"
    return None


def server_reason(exc: openai.APIStatusError) -> str:
    """The server's message, from the error body whatever its shape, on one line."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
    else:
        message = body
    return one_line(str(message) if message else exc.message)


def _field(exc: openai.APIStatusError, name: str) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error", body)
    value = inner.get(name) if isinstance(inner, dict) else None
    return str(value) if value is not None else ""


def one_line(text: str, limit: int = 240) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
