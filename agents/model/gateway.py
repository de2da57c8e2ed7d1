"""Every model call goes through a gateway: retries with backoff, accounting, record and replay.

A gateway serves one role with one model. Live, it sends the request through a transport (the
chat model) and retries rate limits, server errors, timeouts and unreadable answers with
exponential backoff (seeded jitter; Retry-After honoured). Replaying, it answers from a run's
recordings and never touches the network. Either way the tokens and dollars of the answer and the
faults met on the way are added to the caller's meter.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage

from adrs.agents.model.calls import ModelCall, request_key, request_payload
from adrs.agents.model.config import Price
from adrs.agents.model.errors import ModelCallFailed, ModelSetupError
from adrs.agents.model.recording import Recording, RecordingStore, redact
from adrs.agents.usage import UsageMeter, dollars_for

__all__ = ["ChatTransport", "ModelCallFailed", "ModelGateway", "ModelSetupError", "RetryPolicy",
           "Transport", "classify"]
log = logging.getLogger("adrs.model")
FATAL_STATUSES = {401: "the API key was refused", 403: "access denied",
                  404: "unknown model or endpoint"}


class Transport(Protocol):
    def send(self, call: ModelCall) -> AIMessage: ...


class ChatTransport:
    """Sends a call through a LangChain chat model (ChatOpenAI, or a scripted fake in tests)."""

    def __init__(self, model: BaseChatModel, *, force_tool: bool = True) -> None:
        self._model = model
        self._force_tool = force_tool  # some local servers refuse a named tool_choice

    def send(self, call: ModelCall) -> AIMessage:
        choice = call.tool_choice if self._force_tool else None
        runnable = (self._model.bind_tools(list(call.tools), tool_choice=choice)
                    if call.tools else self._model)
        answer = runnable.invoke(list(call.messages))
        if not isinstance(answer, AIMessage):
            raise ValueError(f"the chat model answered with a {type(answer).__name__}")
        return answer


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_seconds: float = 2.0
    max_backoff_seconds: float = 60.0

    def delay(self, attempt: int, key: str, retry_after: float | None) -> float:
        """Wait before try `attempt + 1`: doubling, with jitter seeded by the request."""
        base = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** attempt)
        jitter = 0.5 + 0.5 * random.Random(f"{key}:{attempt}").random()
        wait = base * jitter
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_backoff_seconds))
        return wait


def classify(exc: BaseException) -> str | None:
    """The fault kind of an exception a chat model raised; None for one that is not a fault."""
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 429:
            return "rate_limit"
        if status == 408:
            return "timeout"
        if status >= 500 or status == 409:
            return "server_error"
        if status in FATAL_STATUSES:
            raise ModelSetupError(f"model server said {status} ({FATAL_STATUSES[status]}): "
                                  f"{_one_line(exc)}") from exc
        return "refused"  # 400, 413, 422...: this request will not work however often it is sent
    if isinstance(exc, (openai.OpenAIError, ValueError, TypeError, KeyError)):
        # A body the client could not read (cut-off JSON, null choices...): the server's fault.
        return "bad_response"
    return None


class ModelGateway:
    """The one door to one model for one role."""

    def __init__(self, model: str, *, transport: Transport | None, price: Price | None = None,
                 retry: RetryPolicy = RetryPolicy(), recorder: RecordingStore | None = None,
                 replay: RecordingStore | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if transport is None and replay is None:
            raise ValueError("a gateway needs a transport or recordings to replay")
        self.model = model
        self._transport = transport
        self._price = price
        self._retry = retry
        self._recorder = recorder
        self._replay = replay
        self._sleep = sleep

    def ask(self, call: ModelCall, meter: UsageMeter) -> AIMessage:
        """The model's answer to `call`; ModelCallFailed if there is none, ModelSetupError if
        the brain cannot work at all."""
        payload = request_payload(call, self.model)
        key = request_key(payload)
        replaying = self._replay is not None
        recording = self._replayed(call, key) if replaying else self._live(call, key, meter)
        if replaying:
            for kind in recording.faults:
                meter.add_fault(kind)
        if self._recorder is not None:
            self._recorder.save(key, payload, recording)
        if recording.failure is not None:
            kind, message = recording.failure
            meter.add_fault("failed_call")
            log.info("%s: %s", call.scope, message)  # the role says what it does about it
            raise ModelCallFailed(kind, message)
        answer = recording.response
        assert answer is not None  # a recording holds an answer or a failure
        self._account(call.role, answer, meter)
        return answer

    def _replayed(self, call: ModelCall, key: str) -> Recording:
        assert self._replay is not None
        try:
            recording = self._replay.load(key)
        except ValueError as exc:
            raise ModelSetupError(f"replay: {exc}") from exc
        if recording is None:
            raise ModelSetupError(f"replay diverged: no recorded answer for the {call.role}'s "
                                  f"request at {call.scope} (key {key[:12]}) in "
                                  f"{self._replay.directory}")
        return recording

    def _live(self, call: ModelCall, key: str, meter: UsageMeter) -> Recording:
        assert self._transport is not None
        faults: list[str] = []
        for attempt in range(self._retry.max_attempts):
            try:
                return Recording(response=self._transport.send(call), faults=tuple(faults))
            except Exception as exc:  # noqa: BLE001 - classified below; the rest re-raised
                kind = classify(exc)
                if kind is None:
                    raise
                message = redact(f"{self.model} {_one_line(exc)}")
                if kind == "refused":
                    return Recording(None, tuple(faults), ("refused", f"request refused: {message}"))
                faults.append(kind)
                meter.add_fault(kind)
                if attempt + 1 < self._retry.max_attempts:
                    wait = self._retry.delay(attempt, key, _retry_after(exc))
                    log.info("%s: %s (%s); retrying in %.1f s", call.scope, kind, message, wait)
                    self._sleep(wait)
        tries = self._retry.max_attempts
        return Recording(None, tuple(faults),
                         (faults[-1], f"no answer after {tries} {'try' if tries == 1 else 'tries'} "
                                      f"(last: {faults[-1].replace('_', ' ')})"))

    def _account(self, role: str, answer: AIMessage, meter: UsageMeter) -> None:
        usage = answer.usage_metadata or {}
        tokens_in, tokens_out = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
        dollars = (dollars_for(tokens_in, tokens_out, input_price=self._price.input,
                               output_price=self._price.output) if self._price else 0.0)
        meter.add_call(role, input_tokens=tokens_in, output_tokens=tokens_out, dollars=dollars)


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
