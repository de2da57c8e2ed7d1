"""The gateway: retries with backoff, usage and dollars, record and replay; answer parsing."""

from __future__ import annotations

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage

from adrs.agents.model.answers import AnswerError, close_json, parse_structured
from adrs.agents.model.calls import ModelCall, Request
from adrs.agents.model.capabilities import Sent
from adrs.agents.model.config import Price, RoleSettings
from adrs.agents.model.gateway import ModelCallFailed, ModelGateway, ModelSetupError, RetryPolicy
from adrs.agents.model.recording import RecordingStore
from adrs.agents.model.refusals import Retry, diagnose
from adrs.agents.model.schemas import Review
from adrs.agents.usage import UsageMeter, add_usage, describe_faults, describe_usage
from tests.agents.model.fakes import broken_call, call, text


def status_error(status: int, cls=openai.APIStatusError, headers: dict | None = None):
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(status, request=request, headers=headers or {})
    return cls(f"Error code: {status}", response=response, body=None)


class Flaky:
    """A transport that fails with the given exceptions, then answers."""

    def __init__(self, *failures: BaseException, answer: AIMessage | None = None) -> None:
        self.failures = list(failures)
        self.answer = answer or text("ok", tokens=(1000, 500))
        self.sent = 0

    def send(self, request: Request) -> AIMessage:
        self.sent += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.answer


CALL = ModelCall(role="critic", scope="i0001-s0 review r0", messages=(HumanMessage("hi"),))
M = RoleSettings(model="m")


def test_transient_faults_are_retried_with_growing_waits_and_counted():
    waits: list[float] = []
    timeout = openai.APITimeoutError(request=httpx.Request("POST", "http://127.0.0.1/"))
    transport = Flaky(status_error(429, openai.RateLimitError, {"retry-after": "7"}),
                      status_error(503, openai.InternalServerError), timeout)
    gateway = ModelGateway(M, transport=transport, price=Price(input=2.0, output=8.0),
                           retry=RetryPolicy(max_attempts=4, backoff_seconds=1.0,
                                             max_backoff_seconds=30.0), sleep=waits.append)
    meter = UsageMeter()
    assert gateway.ask(CALL, meter).content == "ok"
    assert transport.sent == 4
    assert meter.faults() == {"rate_limit": 1, "server_error": 1, "timeout": 1}
    # Waits: Retry-After 7 s beats the first backoff (1 s with jitter in [0.5, 1]); then the
    # doubling backoff 2 s and 4 s, each scaled by a jitter in [0.5, 1].
    assert waits[0] == 7.0 and 1.0 <= waits[1] <= 2.0 and 2.0 <= waits[2] <= 4.0
    # 1000 input tokens at $2/M + 500 output tokens at $8/M = $0.002 + $0.004.
    assert meter.usage() == {"critic": {"calls": 1, "input_tokens": 1000, "output_tokens": 500,
                                        "dollars": pytest.approx(0.006)}}


def test_a_call_that_keeps_failing_is_a_failed_call_not_a_crash():
    transport = Flaky(*[status_error(500, openai.InternalServerError)] * 3)
    gateway = ModelGateway(M, transport=transport, retry=RetryPolicy(max_attempts=3),
                           sleep=lambda _: None)
    meter = UsageMeter()
    with pytest.raises(ModelCallFailed, match="no answer after 3 tries"):
        gateway.ask(CALL, meter)
    assert meter.faults() == {"failed_call": 1, "server_error": 3}


def test_refused_requests_and_bad_credentials_stop_the_brain_at_once():
    transport = Flaky(status_error(400, openai.BadRequestError))
    gateway = ModelGateway(M, transport=transport, sleep=lambda _: None)
    with pytest.raises(ModelSetupError, match="model m: the request was refused \\(server said 400"):
        gateway.ask(CALL, UsageMeter())
    assert transport.sent == 1  # never retried: it would be refused again
    gateway = ModelGateway(M, transport=Flaky(status_error(401, openai.AuthenticationError)))
    with pytest.raises(ModelSetupError, match="model m: the API key was refused \\(server said 401"):
        gateway.ask(CALL, UsageMeter())
    assert diagnose(KeyError("choices"), Sent()) == Retry("bad_response")  # an unreadable answer
    assert diagnose(RuntimeError("a bug"), Sent()) is None  # not a model fault: it propagates


def test_recorded_answers_replay_offline_with_their_faults(tmp_path):
    store = RecordingStore(tmp_path / "rec")
    transport = Flaky(status_error(429, openai.RateLimitError),
                      answer=call("submit_verdict", {"decision": "approve"}, tokens=(10, 2)))
    live = ModelGateway(M, transport=transport, recorder=store, sleep=lambda _: None)
    meter = UsageMeter()
    answer = live.ask(CALL, meter)
    replayer = ModelGateway(M, transport=None, replay=store)
    again = UsageMeter()
    assert replayer.ask(CALL, again).tool_calls == answer.tool_calls
    assert again.usage() == meter.usage() and again.faults() == meter.faults() == {"rate_limit": 1}
    other = ModelCall(role="critic", scope="i0002-s0 review r0", messages=CALL.messages)
    with pytest.raises(ModelSetupError, match="replay diverged: no recorded answer for the "
                                              "critic's request at i0002-s0 review r0"):
        replayer.ask(other, UsageMeter())


def test_recordings_mask_secret_looking_environment_values(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-should-never-be-stored")
    store = RecordingStore(tmp_path)
    leak = ModelCall(role="coder", scope="s", messages=(HumanMessage("sk-test-should-never-be-stored"),))
    ModelGateway(M, transport=Flaky(), recorder=store).ask(leak, UsageMeter())
    [path] = list(tmp_path.glob("*.json"))
    assert "sk-test-should" not in path.read_text() and "[redacted]" in path.read_text()


def test_structured_answers_from_tool_calls_cut_off_json_and_text():
    review, repaired = parse_structured(call("submit_verdict", {"decision": "revise",
                                                                "reasons": ["x"]}),
                                        Review, "submit_verdict")
    assert review == Review(decision="revise", reasons=["x"]) and not repaired
    cut = broken_call("submit_verdict", '{"decision": "reject", "reasons": ["too slow", "unsaf')
    review, repaired = parse_structured(cut, Review, "submit_verdict")
    assert review.reasons == ["too slow", "unsaf"] and repaired
    fenced = text('My verdict:\n```json\n{"decision": "approve", "reasons": []}\n```')
    assert parse_structured(fenced, Review, "submit_verdict")[0].decision == "approve"
    with pytest.raises(AnswerError, match="decision: Input should be 'approve', 'revise' or"):
        parse_structured(call("submit_verdict", {"decision": "maybe"}), Review, "submit_verdict")
    with pytest.raises(AnswerError, match="no call of submit_verdict and no JSON object"):
        parse_structured(text("Looks fine to me."), Review, "submit_verdict")


def test_close_json_closes_what_a_cut_left_open():
    assert close_json('{"a": [1, 2, {"b": "c') == {"a": [1, 2, {"b": "c"}]}
    assert close_json('{"a": 1, "b": ') == {"a": 1, "b": None}
    assert close_json('{"a": 1, "b"') == {"a": 1}
    assert close_json('{"a": "x\\"y') == {"a": 'x"y'}
    assert close_json("not json at all") is None


def test_usage_tables_add_up_and_read_as_one_line():
    a = {"planner": {"calls": 1, "input_tokens": 100, "output_tokens": 20, "dollars": 0.5}}
    b = {"planner": {"calls": 2, "input_tokens": 10, "output_tokens": 5, "dollars": 0.25},
         "coder": {"calls": 1, "input_tokens": 1, "output_tokens": 1, "dollars": 0.0}}
    total = add_usage(a, b)
    assert total["planner"] == {"calls": 3, "input_tokens": 110, "output_tokens": 25, "dollars": 0.75}
    assert a["planner"]["calls"] == 1  # inputs untouched
    assert describe_usage(total) == ("planner 3 calls 135 tokens $0.7500 · coder 1 calls 2 tokens "
                                     "$0.0000 · total 137 tokens $0.7500")
    assert describe_faults({"malformed": 2, "rate_limit": 1, "timeout": 0}) == \
        "rate limit 1, malformed 2"
