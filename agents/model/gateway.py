"""Every model call goes through a gateway: budget, fallbacks, retries, accounting, record/replay.

A gateway serves one role with one model. Before each call it asks the run's spend ledger whether
the call fits the budget. It turns the role's call into the request the endpoint accepts (see
capabilities.py); live, it sends it through a transport and reads a failure as the server meant
it (refusals.py): a passing fault is retried with exponential backoff (seeded jitter, Retry-After
honoured); a refused feature is dropped and the request sent again; a refusal no fallback fixes
stops the run. Replaying, it answers from a run's recordings and never touches the network.
Either way the answer's tokens and dollars and the faults met are added to the caller's meter.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage

from adrs.agents.model.calls import ModelCall, Request, adapt, request_key, request_payload
from adrs.agents.model.capabilities import Capabilities, CapabilityBook, Feature
from adrs.agents.model.config import Price, RoleSettings
from adrs.agents.model.endpoints import EndpointSlots
from adrs.agents.model.errors import BudgetExhausted, ModelCallFailed, ModelSetupError
from adrs.agents.model.recording import Recording, RecordingStore, redact
from adrs.agents.model.refusals import Fatal, StepDown, diagnose, one_line
from adrs.agents.usage import Cost, SpendLedger, UsageMeter, dollars_for

__all__ = ["ChatTransport", "ModelCallFailed", "ModelGateway", "ModelSetupError", "RetryPolicy",
           "Transport"]
log = logging.getLogger("adrs.model")
REFUSED = "refused:"  # a recorded failure "refused:<feature>": the server refused that feature
CHARS_PER_TOKEN = 4.0  # until the server's own counts teach the gateway better


class Transport(Protocol):
    def send(self, request: Request) -> AIMessage: ...


class ChatTransport:
    """Sends a request through a LangChain chat model (ChatOpenAI, or a scripted fake in tests),
    one of at most so many in flight to its endpoint."""

    def __init__(self, model: BaseChatModel, *, url: str = "", slots: EndpointSlots | None = None) -> None:
        self._model = model
        self._url = url
        self._slots = slots or EndpointSlots()

    def send(self, request: Request) -> AIMessage:
        runnable = (self._model.bind_tools(list(request.tools), tool_choice=request.tool_choice)
                    if request.tools else self._model)
        with self._slots.slot(self._url):  # the client's timeout starts only now
            answer = runnable.invoke(list(request.messages), **request.sampling())
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


class ModelGateway:
    """The one door to one model for one role."""

    def __init__(self, role: RoleSettings, *, transport: Transport | None,
                 book: CapabilityBook | None = None, price: Price | None = None,
                 retry: RetryPolicy = RetryPolicy(), recorder: RecordingStore | None = None,
                 replay: RecordingStore | None = None, spend: SpendLedger | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if transport is None and replay is None:
            raise ValueError("a gateway needs a transport or recordings to replay")
        self.model = role.model
        self._role = role
        self._transport = transport
        self._book = book or CapabilityBook({}, Capabilities())
        self._price = price
        self._retry = retry
        self._recorder = recorder
        self._replay = replay
        self._spend = spend or SpendLedger()
        self._sleep = sleep
        self._sizes = threading.Lock()  # guards what past answers taught about sizes
        self._chars = self._tokens = self._largest_output = 0

    def capabilities(self) -> Capabilities:
        return self._book.get(self.model)

    def ask(self, call: ModelCall, meter: UsageMeter) -> AIMessage:
        """The model's answer to `call`. ModelCallFailed if there is none (BudgetExhausted if it
        was not sent for the budget, ToolsUnsupported for a tool loop the endpoint cannot serve);
        ModelSetupError if the brain cannot work at all."""
        while True:
            request = adapt(call, self.capabilities(), self._role)
            recording = self._exchange(request, meter)
            if recording.failure is None:
                assert recording.response is not None  # a recording holds an answer or a failure
                return recording.response
            kind, message = recording.failure
            if kind.startswith(REFUSED):
                feature = cast(Feature, kind.removeprefix(REFUSED))
                learned = self._book.learn(self.model, feature, message)
                # A call in parallel may have met the same refusal and stepped down already.
                if learned or adapt(call, self.capabilities(), self._role) != request:
                    meter.add_fault("fallback")
                    continue
                raise ModelSetupError(f"model {self.model}: the server refused the {call.role}'s "
                                      f"request and no fallback is left ({feature}: {message})")
            meter.add_fault("failed_call")
            log.info("%s: %s", call.scope, message)  # the role says what it does about it
            raise ModelCallFailed(kind, message)

    def _exchange(self, request: Request, meter: UsageMeter) -> Recording:
        """One request, within the budget: answered live or from the recordings, and recorded."""
        payload = request_payload(request, self.model)
        key = request_key(payload)
        expected = self._expected(request)
        if not self._spend.admit(expected):
            raise BudgetExhausted(self._spend.stop_reason() or "the budget is spent")
        spent = Cost()
        try:
            if self._replay is not None:
                recording = self._replayed(request, key)
                for kind in recording.faults:
                    meter.add_fault(kind)
            else:
                recording = self._live(request, key, meter)
            if self._recorder is not None:
                self._recorder.save(key, payload, recording)
            if recording.response is not None:
                spent = self._account(request, recording.response, meter)
        finally:
            self._spend.settle(expected, spent)
        return recording

    def _replayed(self, request: Request, key: str) -> Recording:
        assert self._replay is not None
        try:
            recording = self._replay.load(key)
        except ValueError as exc:
            raise ModelSetupError(f"replay: {exc}") from exc
        if recording is None:
            raise ModelSetupError(f"replay diverged: no recorded answer for the {request.role}'s "
                                  f"request at {request.scope} (key {key[:12]}) in "
                                  f"{self._replay.directory}")
        return recording

    def _live(self, request: Request, key: str, meter: UsageMeter) -> Recording:
        assert self._transport is not None
        faults: list[str] = []
        for attempt in range(self._retry.max_attempts):
            try:
                return Recording(response=self._transport.send(request), faults=tuple(faults))
            except Exception as exc:  # noqa: BLE001 - diagnosed below; the rest re-raised
                verdict = diagnose(exc, request.sent())
                if verdict is None:
                    raise
                if isinstance(verdict, Fatal):
                    raise ModelSetupError(f"model {self.model}: {redact(verdict.reason)}") from exc
                if isinstance(verdict, StepDown):
                    return Recording(None, tuple(faults),
                                     (REFUSED + verdict.feature, redact(verdict.reason)))
                faults.append(verdict.kind)
                meter.add_fault(verdict.kind)
                if attempt + 1 < self._retry.max_attempts:
                    wait = self._retry.delay(attempt, key, _retry_after(exc))
                    log.info("%s: %s (%s %s); retrying in %.1f s", request.scope, verdict.kind,
                             self.model, redact(one_line(str(exc))), wait)
                    self._sleep(wait)
        tries = self._retry.max_attempts
        return Recording(None, tuple(faults),
                         (faults[-1], f"no answer after {tries} {'try' if tries == 1 else 'tries'} "
                                      f"(last: {faults[-1].replace('_', ' ')})"))

    def _expected(self, request: Request) -> Cost:
        """What the call should cost: its prompt at the tokens-per-character the server reported
        so far, and as many output tokens as it may write (its cap, else the most seen)."""
        with self._sizes:
            ratio = self._tokens / self._chars if self._tokens else 1 / CHARS_PER_TOKEN
            tokens_out = request.max_tokens or self._largest_output
        tokens_in = int(request.chars() * ratio)
        return Cost(tokens_in + tokens_out, self._dollars(tokens_in, tokens_out))

    def _account(self, request: Request, answer: AIMessage, meter: UsageMeter) -> Cost:
        usage = answer.usage_metadata or {}
        tokens_in, tokens_out = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
        with self._sizes:
            if tokens_in:
                self._chars, self._tokens = self._chars + request.chars(), self._tokens + tokens_in
            self._largest_output = max(self._largest_output, tokens_out)
        dollars = self._dollars(tokens_in, tokens_out)
        meter.add_call(request.role, input_tokens=tokens_in, output_tokens=tokens_out, dollars=dollars)
        return Cost(tokens_in + tokens_out, dollars)

    def _dollars(self, tokens_in: int, tokens_out: int) -> float:
        if self._price is None:
            return 0.0
        return dollars_for(tokens_in, tokens_out, input_price=self._price.input,
                           output_price=self._price.output)


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
