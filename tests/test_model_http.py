"""The real ChatOpenAI client over HTTP, against an OpenAI-compatible server on loopback:
structured output, tool calls, per-role sampling options, usage accounting, a 429 then success,
a timeout then success."""

from __future__ import annotations

import json

import pytest

from adrs.agents.model.config import ModelSettings, Price
from adrs.graph.runner import create_run, execute
from adrs.graph.settings import RunSettings
from adrs.tools.problem import Problem
from adrs.workspace.repository import RunRepository
from tests.agents.model.loopback import LoopbackServer, Reply, completion, queue, rate_limited, tool_call

KEY = "sk-loopback-test-0000"
WIDTH5 = (1 / 3.5 + 1 / 22.625) / 2
PLAN = {"plans": [{"parent": "i0000-s0", "summary": "Raise WIDTH to 5",
                   "hypothesis": "The near target is at 5.", "change": "WIDTH = 5",
                   "expected_effect": "combined_score up"}]}
EDIT = "<<<<<<< SEARCH\nWIDTH = 2\n=======\nWIDTH = 5\n>>>>>>> REPLACE\n"


def test_chat_openai_over_http(toy_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    for name in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    script = queue(
        rate_limited(),                                                          # planner: 429
        Reply(body=completion(tool_calls=[tool_call("submit_plans", PLAN)], usage=(1200, 300))),
        Reply(body=completion(content="late"), delay=2.0),                       # coder: timeout
        Reply(body=completion(content=EDIT, usage=(800, 200))),
        Reply(body=completion(tool_calls=[tool_call("submit_verdict", {
            "decision": "approve", "reasons": ["Does what the plan says."]})], usage=(600, 50))),
        Reply(body=completion(tool_calls=[tool_call("write_findings", {
            "summary": "Better.", "details": "near gains.", "note": "WIDTH 5 helps near."})],
            usage=(900, 120))))
    with LoopbackServer(script) as server:
        model = ModelSettings(planner={"model": "loop-model", "reasoning_effort": "high"},
                              coder={"model": "loop-model", "temperature": 0.3, "max_tokens": 900},
                              critic="loop-model", evaluator="loop-model", base_url=server.url,
                              timeout_seconds=1.0,
                              backoff_seconds=0.0,
                              prices={"loop-model": Price(input=2.0, output=8.0)})
        settings = RunSettings.build(problem="toy", iterations=1, brain="model", model=model)
        create_run(Problem.load(toy_dir), settings, tmp_path / "run")
        final = execute(tmp_path / "run")
        received = list(server.received)

    assert len(received) == 6
    assert {r.headers["authorization"] for r in received} == {f"Bearer {KEY}"}
    planner = received[0].body
    assert received[1].body == planner  # the retry after the 429 sent the same request
    assert planner["model"] == "loop-model"
    assert [t["function"]["name"] for t in planner["tools"]] == ["submit_plans"]
    assert planner["tool_choice"] == {"type": "function", "function": {"name": "submit_plans"}}
    assert planner["reasoning_effort"] == "high" and "temperature" not in planner
    coder = received[3].body
    assert "tools" not in coder and coder == received[2].body
    assert coder["temperature"] == 0.3 and coder["max_completion_tokens"] == 900
    # The evaluator writes its findings from the full evaluation's result, in one call.
    evaluator = received[5].body
    assert [t["function"]["name"] for t in evaluator["tools"]] == ["write_findings"]
    assert "# The simulator's result on every training workload\nstatus ok, combined_score " \
           "0.1650 (parent i0000-s0 0.0490, change +0.1160)" in evaluator["messages"][-1]["content"]

    # Usage: planner 1200/300, coder 800/200, critic 600/50, evaluator 900/120 tokens
    # at $2 (input) and $8 (output) per million.
    assert final["usage"] == {
        "planner": {"calls": 1, "input_tokens": 1200, "output_tokens": 300,
                    "dollars": pytest.approx(0.0048)},
        "coder": {"calls": 1, "input_tokens": 800, "output_tokens": 200,
                  "dollars": pytest.approx(0.0032)},
        "critic": {"calls": 1, "input_tokens": 600, "output_tokens": 50,
                   "dollars": pytest.approx(0.0016)},
        "evaluator": {"calls": 1, "input_tokens": 900, "output_tokens": 120,
                      "dollars": pytest.approx(0.00276)}}
    assert final["faults"] == {"rate_limit": 1, "timeout": 1}

    repo = RunRepository.open(tmp_path / "run")
    record = repo.record("i0001-s0")
    assert record.status == "evaluated" and record.score == pytest.approx(WIDTH5)
    assert record.message.model == "loop-model"
    assert record.message.findings.startswith("Score 0.1650 (+0.1160 vs parent i0000-s0). Better.")
    assert repo.note(record.id) == "WIDTH 5 helps near.\n"
    recordings = list((tmp_path / "run" / ".adrs" / "recordings").glob("*.json"))
    assert len(recordings) == 4  # one per answered request; retries are noted inside
    assert sum(json.loads(p.read_text())["faults"] != [] for p in recordings) == 2
