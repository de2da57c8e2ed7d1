"""The model brain on the command line: flags, config file, budgets, replay, clear errors."""

from __future__ import annotations

import json
import subprocess

import pytest
from typer.testing import CliRunner

from adrs.cli import app
from adrs.graph.runner import run_status
from adrs.graph.settings import RunSettings
from adrs.workspace.repository import RunRepository
from tests.agents.model.loopback import LoopbackServer
from tests.agents.model.test_scripted_run import history
from tests.agents.model.toy_server import ToyResponder, role_of

runner = CliRunner()


def adrs(*args) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def last_line(output: str) -> str:
    return [line for line in output.splitlines() if line.strip()][-1]


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-test")
    for name in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)


def test_per_role_models_from_a_config_file_with_flags_on_top(toy_dir, tmp_path, key):
    (tmp_path / "adrs.toml").write_text(
        '[model]\nname = "small"\ntemperature = 0.2\nmax_tool_calls = 3\nstructured = "tool_auto"\n'
        '[model.planner]\nname = "big"\nreasoning_effort = "high"\nmax_tokens = 2000\n'
        '[prices.big]\ninput = 5.0\noutput = 15.0\n[prices.small]\ninput = 0.1\noutput = 0.4\n'
        '[prices.tiny]\ninput = 0.0\noutput = 0.0\n[budget]\nmax_dollars = 2.5\n')
    with LoopbackServer(ToyResponder()) as server:
        code, out = adrs("run", toy_dir, "--config", tmp_path / "adrs.toml", "--critic",
                         "tiny", "--base-url", server.url, "--iterations", 1,
                         "--run-dir", tmp_path / "run")
        bodies = [r.body for r in server.received]
    assert code == 0, out
    # structured = "tool_auto": no named tool_choice; every role has the shared temperature.
    assert [b for b in bodies if "tool_choice" in b] == []
    assert {b.get("temperature") for b in bodies} == {0.2}
    planner = [b for b in bodies if b["model"] == "big"]
    assert len(planner) == 2 and planner[1]["max_completion_tokens"] == 2000  # after its probe
    assert {b.get("reasoning_effort") for b in planner} == {"high"}
    assert "model brain: planner big, coder small, critic tiny, evaluator small" in out
    settings = RunSettings.load(tmp_path / "run" / ".adrs" / "settings.json")
    assert settings.brain == "model" and settings.max_dollars == 2.5
    assert settings.model.planner.reasoning_effort == "high"
    assert settings.model.coder.temperature == 0.2 and settings.model.max_tool_calls == 3
    assert sorted(settings.model.capabilities) == ["big", "small", "tiny"]  # probed, remembered
    assert settings.model.base_url == server.url and {b["model"] for b in bodies} == {
        "big", "small", "tiny"}
    assert "model usage: planner 1 calls" in out and "model faults: none" in out


def test_token_and_dollar_caps_hold_within_one_call(toy_dir, tmp_path, key):
    (tmp_path / "prices.toml").write_text('[prices.m]\ninput = 1000.0\noutput = 1000.0\n')
    with LoopbackServer(ToyResponder()) as server:
        code, out = adrs("run", toy_dir, "--model", "m", "--base-url", server.url,
                         "--iterations", 5, "--max-tokens", 2500, "--run-dir", tmp_path / "a")
        assert code == 0, out
        code, out = adrs("run", toy_dir, "--model", "m", "--base-url", server.url,
                         "--config", tmp_path / "prices.toml", "--iterations", 5,
                         "--max-dollars", 2.5, "--run-dir", tmp_path / "b")
        assert code == 0, out
    # An iteration of the toy server takes 1,960 tokens (planner 460, coder 580, critic 460,
    # evaluator 460). The second iteration's plan fits the budget; its coder's call would not,
    # so it is not sent, and the run stops there, under the cap (at $1000 per million tokens,
    # a token costs a tenth of a cent).
    tokens = run_status(tmp_path / "a")
    assert tokens["iteration"] == 2 and tokens["evaluations"] == 1
    assert tokens["stop_reason"] == "the next model call could exceed the 2,500 tokens budget " \
                                    "(used 2,420)"
    dollars = run_status(tmp_path / "b")
    assert dollars["iteration"] == 2
    assert dollars["stop_reason"] == "the next model call could exceed the $2.5 budget " \
                                     "(spent $2.4200)"
    assert "stopped: the next model call could exceed the $2.5 budget" in out


def test_an_offline_planner_with_a_model_coder(toy_dir, tmp_path, key):
    with LoopbackServer(ToyResponder()) as server:
        code, out = adrs("run", toy_dir, "--planner", "offline", "--coder", "m",
                         "--base-url", server.url, "--iterations", 2, "--run-dir", tmp_path / "run")
        roles = [role_of(r.body) for r in server.received]
    assert code == 0, out
    assert "model brain: planner offline, coder m, critic offline, evaluator offline" in out
    assert roles == ["probe", "coder", "coder"]  # the model writes the offline planner's edits
    repo = RunRepository.open(tmp_path / "run")
    records = repo.records()[1:]
    assert [r.status for r in records] == ["evaluated", "evaluated"]
    for record in records:  # "CMA-ES trial 0: WIDTH 2 -> 3, ...": the model coder wrote it
        first_edit = record.summary.split(": ", 1)[1].split(", ")[0]
        name, _, _, new = first_edit.split()
        assert f"\n{name} = {new}\n" in repo.program_source(record.id)
    assert all(r.message.model == "offline+m" and r.message.operator == "perturb" for r in records)


def test_a_lean_team_leaves_critic_and_evaluator_offline_unless_named(toy_dir, tmp_path, key):
    with LoopbackServer(ToyResponder(plan_edits=False)) as server:
        code, out = adrs("run", toy_dir, "--model", "m", "--team", "lean", "--base-url",
                         server.url, "--iterations", 2, "--run-dir", tmp_path / "run")
        roles = [role_of(r.body) for r in server.received]
        edit_asked = ['"edit"' in json.dumps(r.body.get("tools")) for r in server.received
                      if role_of(r.body) == "planner"]
    assert code == 0, out
    assert "model brain: planner m, coder m, critic offline, evaluator offline" in out
    # This server's plans carry no edit: the coder writes each one (the second twice: its first
    # program repeats the first candidate's, and the static critic sends it back).
    assert roles == ["probe", "planner", "coder", "planner", "coder", "coder"], roles
    assert edit_asked == [True] * 2
    assert RunSettings.load(tmp_path / "run" / ".adrs" / "settings.json").model.team == "lean"
    with LoopbackServer(ToyResponder()) as server:
        code, out = adrs("run", toy_dir, "--model", "m", "--team", "lean", "--critic", "c",
                         "--base-url", server.url, "--iterations", 1, "--run-dir", tmp_path / "r2")
    assert code == 0 and "planner m, coder m, critic c, evaluator offline" in out, out


def test_replay_reproduces_a_recorded_run_offline(toy_dir, tmp_path, key):
    with LoopbackServer(ToyResponder(seed=2, fault_rate=0.2)) as server:
        code, out = adrs("run", toy_dir, "--model", "m", "--base-url", server.url,
                         "--config", _fast(tmp_path), "--iterations", 3, "--width", 2,
                         "--run-dir", tmp_path / "recorded")
        assert code == 0, out
    # The server is gone, and so is the key: the replay needs neither.
    code, out = adrs("run", "--replay", tmp_path / "recorded", "--run-dir", tmp_path / "again")
    assert code == 0, out
    assert "replaying" in out and "stopped: completed 3 iterations" in out
    assert history(tmp_path / "again") == history(tmp_path / "recorded")
    assert _root_tree(tmp_path / "again") == _root_tree(tmp_path / "recorded")
    first, second = run_status(tmp_path / "recorded"), run_status(tmp_path / "again")
    assert first["usage"] == second["usage"] and first["faults"] == second["faults"]


def _root_tree(run):
    return subprocess.run(["git", "-C", str(run), "rev-parse", "refs/adrs/root^{tree}"],
                          capture_output=True, text=True, check=True).stdout


def _fast(tmp_path):
    path = tmp_path / "fast.toml"
    path.write_text("[model]\ntimeout_seconds = 0.5\nbackoff_seconds = 0.0\n")
    return path


@pytest.mark.parametrize("args, config, message", [
    (["--replay", "{tmp}/nothing"], None, "no run at"),
    (["--model", "m", "--max-tokens", "0"], None, "invalid max_tokens"),
    (["--max-tokens", "10"], None, "--max-dollars and --max-tokens need the model brain"),
    (["--model", "m", "--max-dollars", "1"], None, "--max-dollars needs a price for m"),
    (["--planner-model", "big"], None, "invalid model: the offline coder applies the offline "
                                       "planner's literal edits only; give the coder a model too"),
    (["--model", "m", "--max-concurrent-requests", "0"], None, "invalid model.max_concurrent_requests"),
    (["--model", "m", "--team", "solo"], None, "invalid model.team: Input should be 'full' or 'lean'"),
    (["--coder", "m", "--team", "lean"], None, "team lean has the planner's model write the edits"),
    (["--model", "m", "--config", "{tmp}/c.toml"], "[model.planner]\ncolour = 1\n",
     "unknown [model] key(s) planner.colour"),
    (["--model", "m", "--config", "{tmp}/c.toml"], '[model]\nreasoning_effort = "max"\n',
     "invalid model.planner.reasoning_effort"),
    (["--base-url", "http://127.0.0.1:9/v1"], None, "model options given but no model"),
    (["--model", "m", "--base-url", "http://user:pw@127.0.0.1/v1"], None,
     "base_url must not contain credentials"),
    (["--model", "m", "--config", "{tmp}/c.toml"], '[model]\napi_key = "sk-x"\n',
     "no API keys in config files (api_key)"),
    (["--model", "m", "--config", "{tmp}/c.toml"], "[model]\ncolour = 1\n",
     "unknown [model] key(s) colour"),
    (["--model", "m", "--config", "{tmp}/c.toml"], "[model\n", "is not valid TOML"),
])
def test_bad_model_options_get_one_clear_line_and_write_nothing(args, config, message, toy_dir,
                                                               tmp_path, key):
    if config is not None:
        (tmp_path / "c.toml").write_text(config)
    args = [a.format(tmp=tmp_path) for a in args]
    problem = [] if args[0] == "--replay" else [toy_dir]
    code, out = adrs("run", *problem, *args, "--run-dir", tmp_path / "run")
    assert code == 2 and last_line(out).startswith("error: ") and message in last_line(out), out
    assert not (tmp_path / "run").exists()


def test_without_a_key_or_a_server_the_model_brain_refuses_to_start(toy_dir, tmp_path,
                                                                    monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    code, out = adrs("run", toy_dir, "--model", "gpt-4.1-mini", "--run-dir", tmp_path / "run")
    assert code == 2 and "the model brain needs OPENAI_API_KEY" in last_line(out)
    assert not (tmp_path / "run").exists()


def test_a_run_without_recordings_cannot_be_replayed(toy_dir, tmp_path, key):
    with LoopbackServer(ToyResponder()) as server:
        code, out = adrs("run", toy_dir, "--model", "m", "--base-url", server.url, "--no-record",
                         "--iterations", 1, "--run-dir", tmp_path / "unrecorded")
    assert code == 0, out
    assert not (tmp_path / "unrecorded" / ".adrs" / "recordings").exists()
    code, out = adrs("run", "--replay", tmp_path / "unrecorded", "--run-dir", tmp_path / "again")
    assert code == 2 and "has no recordings to replay" in last_line(out)
    assert not (tmp_path / "again").exists()


def test_replay_takes_the_recorded_settings_only(toy_dir, tmp_path, key):
    code, out = adrs("run", toy_dir, "--iterations", 1, "--run-dir", tmp_path / "offline")
    assert code == 0, out
    code, out = adrs("run", "--replay", tmp_path / "offline", "--seed", 4,
                     "--run-dir", tmp_path / "x")
    assert code == 2 and "drop --seed" in last_line(out)
    code, out = adrs("run", "--replay", tmp_path / "offline", "--run-dir", tmp_path / "again")
    assert code == 0 and history(tmp_path / "again") == history(tmp_path / "offline")
    settings = json.loads((tmp_path / "again" / ".adrs" / "settings.json").read_text())
    assert settings["brain"] == "offline" and settings["model"] is None
