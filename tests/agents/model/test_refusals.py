"""Reading refusals as the servers mean them, stepping down, and the requests that result."""

from __future__ import annotations

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from adrs.agents.model.answers import tool_spec
from adrs.agents.model.calls import ModelCall, ToolsUnsupported, adapt
from adrs.agents.model.capabilities import Capabilities, CapabilityBook, ModelFallbackWarning, Sent
from adrs.agents.model.config import RoleSettings
from adrs.agents.model.gateway import ModelGateway
from adrs.agents.model.refusals import Fatal, Retry, StepDown, diagnose
from adrs.agents.model.schemas import Review
from adrs.agents.usage import UsageMeter
from tests.agents.model.fakes import call

TOOLS = Sent(tools=True, forced=True, temperature=True, max_tokens=True)


def refusal(status: int, body: dict) -> openai.APIStatusError:
    """The exception the OpenAI client raises for this response (body as the server sent it)."""
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(status, request=request, json=body)
    client = openai.OpenAI(api_key="x", base_url="http://127.0.0.1/v1")
    return client._make_status_error_from_response(response)


@pytest.mark.parametrize("status, body, sent, expected", [
    # Ollama, a model without tools; a model not pulled.
    (400, {"error": {"message": "registry.ollama.ai/library/gemma3:4b does not support tools",
                     "type": "api_error", "param": None, "code": None}}, TOOLS,
     StepDown("tools", "registry.ollama.ai/library/gemma3:4b does not support tools")),
    (404, {"error": {"message": 'model "qwen" not found, try pulling it first'}}, TOOLS,
     Fatal('unknown model or endpoint (server said 404: model "qwen" not found, try pulling it '
           'first)')),
    # llama.cpp without --jinja (a 500 that no retry fixes); past its context.
    (500, {"error": {"code": 500, "message": "tools param requires --jinja flag",
                     "type": "server_error"}}, TOOLS,
     StepDown("tools", "tools param requires --jinja flag")),
    (400, {"error": {"code": 400, "message": "the request exceeds the available context size, "
                     "try increasing it", "type": "exceed_context_size_error",
                     "n_prompt_tokens": 9000, "n_ctx": 4096}}, TOOLS,
     Fatal("the prompt does not fit the model's context; give the server a longer context "
           "(server said 400: the request exceeds the available context size, try increasing it)")),
    # vLLM: a choice left to the model, and a named one; a context too long.
    (400, {"object": "error", "message": '"auto" tool choice requires --enable-auto-tool-choice '
           "and --tool-call-parser to be set", "type": "BadRequestError", "param": None,
           "code": 400}, Sent(tools=True),
     StepDown("tool_loop", '"auto" tool choice requires --enable-auto-tool-choice and '
                           "--tool-call-parser to be set")),
    (400, {"object": "error", "message": "This model's maximum context length is 4096 tokens. "
           "However, you requested 5000 tokens", "type": "BadRequestError", "code": 400}, TOOLS,
     Fatal("the prompt does not fit the model's context; give the server a longer context "
           "(server said 400: This model's maximum context length is 4096 tokens. However, you "
           "requested 5000 tokens)")),
    # OpenAI: temperature on a reasoning model; out of quota; a passing rate limit; a 503.
    (400, {"error": {"message": "Unsupported parameter: 'temperature' is not supported with this "
                     "model.", "type": "invalid_request_error", "param": "temperature",
                     "code": "unsupported_parameter"}}, TOOLS,
     StepDown("temperature", "Unsupported parameter: 'temperature' is not supported with this "
                             "model.")),
    (429, {"error": {"message": "You exceeded your current quota.", "code": "insufficient_quota"}},
     TOOLS, Fatal("the account is out of quota (server said 429: You exceeded your current "
                   "quota.)")),
    (429, {"error": {"message": "Rate limit reached"}}, TOOLS, Retry("rate_limit")),
    (503, {"error": {"message": "The server is overloaded"}}, TOOLS, Retry("server_error")),
    # A refusal of something the request did not carry is nothing to step down from.
    (400, {"error": {"message": "Unsupported parameter: 'temperature'"}}, Sent(tools=True),
     Fatal("the request was refused (server said 400: Unsupported parameter: 'temperature')")),
])
def test_refusals_are_read_as_the_server_meant_them(status, body, sent, expected):
    assert diagnose(refusal(status, body), sent) == expected


def test_each_refusal_steps_down_once_and_is_remembered_with_its_reason():
    caps = Capabilities()
    assert caps.without("tool_choice", "a").structured == "tool_auto"
    loopless = caps.without("tool_loop", "b")
    assert loopless.structured == "tool" and not loopless.tool_loop
    assert caps.without("tool_choice", "a").without("tool_loop", "b").structured == "json_schema"
    no_tools = caps.without("tools", "c")
    assert (no_tools.structured, no_tools.tool_loop) == ("json_schema", False)
    assert no_tools.without("response_format", "d").structured == "json_text"
    assert not caps.without("temperature", "e").temperature
    assert no_tools.refusals == ("tools: c",)
    assert no_tools.describe() == "JSON with a schema; without tool choice by the model"
    text = no_tools.without("response_format", "d")
    assert not text.can_refuse("response_format") and not text.can_refuse("tools")


SPEC = tool_spec(Review, "submit_verdict")
CALL = ModelCall("critic", "i0001-s0 review r0", (SystemMessage("s"), HumanMessage("Review it.")),
                 tools=(SPEC,), tool_choice="submit_verdict")
ROLE = RoleSettings(model="m", temperature=0.2, max_tokens=500, reasoning_effort="low")


def test_a_call_becomes_the_request_its_endpoint_takes():
    request = adapt(CALL, Capabilities(), ROLE)
    assert (request.tools, request.tool_choice) == ((SPEC,), "submit_verdict")
    assert request.sampling() == {"temperature": 0.2, "max_tokens": 500, "reasoning_effort": "low"}
    assert adapt(CALL, Capabilities(structured="tool_auto"), ROLE).tool_choice is None
    schema = adapt(CALL, Capabilities(structured="json_schema", temperature=False), ROLE)
    assert schema.tools == () and "temperature" not in schema.sampling()
    assert schema.response_format["json_schema"]["schema"] == SPEC["function"]["parameters"]
    note = schema.messages[-1].content
    assert note.startswith("Review it.\n\nAnswer with one JSON object and nothing else: the "
                           "arguments of `submit_verdict`, following this JSON schema:\n{")
    text = adapt(CALL, Capabilities(structured="json_text"), ROLE)
    assert text.response_format is None and text.messages == schema.messages
    loop = ModelCall("evaluator", "s", CALL.messages, tools=(SPEC, tool_spec(Review, "other")))
    with pytest.raises(ToolsUnsupported):
        adapt(loop, Capabilities(tool_loop=False), ROLE)


class Refuses:
    """A transport that refuses what the server would, and answers otherwise."""

    def __init__(self, *refused: str) -> None:
        self.refused = refused
        self.sent = []

    def send(self, request):
        self.sent.append(request)
        if "tools" in self.refused and request.tools:
            raise refusal(400, {"error": {"message": "m does not support tools"}})
        if "temperature" in self.refused and request.temperature is not None:
            raise refusal(400, {"error": {"message": "Unsupported parameter: 'temperature'",
                                          "param": "temperature"}})
        return AIMessage(content='{"decision": "Approve"}') if not request.tools \
            else call("submit_verdict", {"decision": "approve"})


def test_the_gateway_steps_down_until_the_server_takes_the_request():
    transport = Refuses("tools", "temperature")
    gateway = ModelGateway(ROLE, transport=transport)
    meter = UsageMeter()
    with pytest.warns(ModelFallbackWarning) as said:
        answer = gateway.ask(CALL, meter)
    assert [str(w.message).split(" (")[0] for w in said] == [
        "model m: the server refused tools", "model m: the server refused temperature"]
    assert answer.content == '{"decision": "Approve"}' and meter.faults() == {"fallback": 2}
    assert [(bool(r.tools), r.temperature) for r in transport.sent] == [
        (True, 0.2), (False, 0.2), (False, None)]
    assert gateway.capabilities().structured == "json_schema"
    gateway.ask(CALL, UsageMeter())  # remembered: sent once, as the server takes it
    assert len(transport.sent) == 4


def test_a_refusal_another_call_has_already_learned_from_is_simply_sent_again():
    book = CapabilityBook({}, Capabilities())

    class Racing(Refuses):
        def send(self, request):
            if request.tools:  # another slot's call met the same refusal first and learned
                book.learn("m", "tools", "does not support tools")
            return super().send(request)

    transport = Racing("tools")
    gateway = ModelGateway(RoleSettings(model="m"), transport=transport, book=book)
    with pytest.warns(ModelFallbackWarning):
        assert gateway.ask(CALL, UsageMeter()).content == '{"decision": "Approve"}'
    assert [bool(r.tools) for r in transport.sent] == [True, False]
