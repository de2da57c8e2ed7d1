"""Model faults: a loopback server failing 30% of requests (429, 500, timeouts, truncated JSON,
nonsense) cannot stop a run; it completes its budget and the summary counts every fault."""

from __future__ import annotations

from typer.testing import CliRunner

from adrs.agents.usage import describe_faults
from adrs.cli import app
from adrs.graph.runner import run_status
from adrs.workspace.repository import RunRepository
from tests.agents.model.loopback import LoopbackServer
from tests.agents.model.toy_server import ToyResponder

CONFIG = """[model]
timeout_seconds = 1.0
backoff_seconds = 0.01
max_attempts = 6
"""


def test_a_run_completes_its_budget_through_injected_faults(toy_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-faults-test")
    (tmp_path / "model.toml").write_text(CONFIG)
    responder = ToyResponder(seed=11, fault_rate=0.3, hang_seconds=1.6)
    with LoopbackServer(responder) as server:
        result = CliRunner().invoke(app, [
            "run", str(toy_dir), "--model", "toy-model", "--base-url", server.url,
            "--config", str(tmp_path / "model.toml"), "--iterations", "6", "--width", "2",
            "--seed", "3", "--run-dir", str(tmp_path / "run")], env={"COLUMNS": "200"})
        requests = len(server.received)
    assert result.exit_code == 0, result.output
    state = run_status(tmp_path / "run")
    assert state["iteration"] == 6 and state["stop_reason"] == "completed 6 iterations"
    faults = state["faults"]
    # Every injected fault is counted as what it is.
    assert faults.get("rate_limit", 0) == responder.count("429")
    assert faults.get("server_error", 0) == responder.count("500")
    assert faults.get("timeout", 0) == responder.count("timeout")
    assert faults.get("bad_response", 0) == responder.count("truncated", ("coder",))
    assert faults.get("bad_edit", 0) == responder.count("nonsense", ("coder",))
    tool_roles = ("planner", "critic", "evaluator")
    assert faults.get("malformed", 0) + faults.get("repaired", 0) == \
        responder.count("truncated", tool_roles) + responder.count("nonsense", tool_roles)
    injected = sum(responder.injected.values())
    assert injected >= 0.15 * requests and all(responder.count(kind) for kind in
                                               ("429", "500", "timeout", "truncated", "nonsense"))
    # The summary the CLI printed is the state's.
    assert f"model faults: {describe_faults(faults)}" in result.output
    assert "stopped: completed 6 iterations" in result.output
    repo = RunRepository.open(tmp_path / "run")
    assert "error" not in repo.fsck().lower()
    assert sum(r.status == "evaluated" for r in repo.records()) >= 6
