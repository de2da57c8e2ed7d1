"""The probe: one short request per model, shaped as its roles will ask, before the run starts."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from adrs.agents.model.config import ModelSettings
from adrs.agents.model.errors import ModelSetupError
from adrs.agents.model.probe import PROBE_TOKENS, probe, probe_calls, probe_role
from tests.agents.model.test_refusals import Refuses, refusal

SETTINGS = ModelSettings(
    planner={"model": "big", "reasoning_effort": "high"}, coder={"model": "small", "temperature": 0.3},
    critic="offline", evaluator={"model": "big", "temperature": 0.5}, evaluator_tools=True,
    backoff_seconds=0.0, max_attempts=2)


def test_each_model_is_asked_the_way_its_roles_will_ask():
    big = probe_calls(SETTINGS, "big")
    assert [(c.role, [t["function"]["name"] for t in c.tools], c.tool_choice) for c in big] == [
        ("planner", ["probe"], "probe"), ("evaluator", ["probe", "skip"], None)]
    [small] = probe_calls(SETTINGS, "small")
    assert (small.role, small.tools) == ("coder", ())  # a coder-only model is asked for text
    role = probe_role(SETTINGS, "big")
    assert (role.temperature, role.reasoning_effort, role.max_tokens) == (0.5, "high", PROBE_TOKENS)


def test_the_probe_learns_each_models_capabilities_into_the_settings():
    transports = {"big": Refuses("tools"), "small": Refuses("temperature")}
    learned = probe(SETTINGS, chat=lambda name: name, transport=lambda name: transports[name])
    big, small = learned.capabilities["big"], learned.capabilities["small"]
    assert (big.structured, big.tool_loop, big.temperature) == ("json_schema", False, True)
    assert (small.structured, small.temperature) == ("tool", False)
    assert len(transports["big"].sent) == 2  # refused with tools, then taken as JSON; no loop probe
    again = probe(learned, chat=lambda name: name, transport=lambda name: transports[name])
    assert again == learned and len(transports["big"].sent) == 2  # known: not probed again


def test_a_server_that_does_not_answer_the_probe_stops_the_run_before_it_starts():
    class Down:
        def send(self, request) -> AIMessage:
            raise refusal(503, {"error": {"message": "loading model"}})

    with pytest.raises(ModelSetupError, match="model big: no answer to a first short request: no "
                                              "answer after 2 tries \\(last: server error\\)"):
        probe(SETTINGS, chat=lambda name: name, transport=lambda name: Down(), sleep=lambda _: None)
