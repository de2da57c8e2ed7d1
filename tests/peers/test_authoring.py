"""`adrs new` from a description and a simulator, `adrs check`, and a run of the result; with a
model (an OpenAI-compatible server on loopback) drafting README.md and evaluator.py."""

from __future__ import annotations

import json

import pytest

from adrs.tools.scaffold import EVALUATOR
from tests.agents.model.loopback import LoopbackServer, Reply, completion, tool_call
from tests.peers.helpers import PEERS, adrs, error_line, records

DESCRIPTION = PEERS / "new_problem" / "description.md"
SIMULATOR = PEERS / "new_problem" / "cache_sim.py"


def test_new_check_and_run_without_a_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = adrs("new", "cache_admit", "--description", "-", "--simulator", SIMULATOR,
                     stdin=DESCRIPTION.read_text())
    assert code == 0, out
    folder = tmp_path / "problems" / "cache_admit"
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md", "evaluator.py", "initial.py", "problem.toml", "simulator.py"]
    readme = (folder / "README.md").read_text()
    for section in ("## Goal", "## Interface", "## Constraints", "## Metric"):
        assert section in readme
    assert "Decide which objects a small cache admits." in readme
    assert "def decide(workload):\n    limit = 32.0\n" in (folder / "initial.py").read_text()
    code, out = adrs("check", "cache_admit")
    assert code == 0, out
    assert "baseline: ok score=0.2435" in out and "deterministic" in out and "one evaluation" in out
    code, out = adrs("run", "cache_admit", "--iterations", 3, "--run-dir", tmp_path / "run")
    assert code == 0 and "stopped: completed 3 iterations" in out, out
    found = records(tmp_path / "run")
    assert len(found) == 4 and max(r.score or 0 for r in found) > found[0].score
    assert "heldout" in out and "combined_score" in out


def test_a_model_drafts_the_readme_and_the_evaluator(tmp_path):
    drafted = EVALUATOR.replace('"""Scores decide()', '"""Drafted for the cache: scores decide()')
    readme = "# cache_admit\n\n## Goal\nHits.\n\n## Interface\ndecide\n\n## Constraints\nnone\n\n" \
             "## Metric\nhit ratio\n"
    answers = iter([{"readme": "# no sections", "evaluator": drafted},  # refused, asked again
                    {"readme": readme, "evaluator": drafted}])

    def respond(body):
        assert body["tools"][0]["function"]["name"] == "write_problem"
        return Reply(body=completion(tool_calls=[tool_call("write_problem", next(answers))]))

    with LoopbackServer(respond) as server:
        code, out = adrs("new", "cache_admit", "--description", DESCRIPTION, "--simulator",
                         SIMULATOR, "--into", tmp_path, "--model", "drafter",
                         "--base-url", server.url)
    assert code == 0, out
    assert "drafted by drafter" in out
    assert (tmp_path / "cache_admit" / "README.md").read_text() == readme
    assert (tmp_path / "cache_admit" / "evaluator.py").read_text().startswith(
        '"""Drafted for the cache')
    first = json.dumps(server.received[0].body)
    assert "Decide which objects a small cache admits" in first and "def make_workload" in first
    assert "lacks the section(s) Goal, Interface, Constraints, Metric" in json.dumps(
        server.received[1].body)


def test_a_model_that_cannot_draft_creates_nothing(tmp_path):
    def refuse(body):
        return Reply(400, {"error": {"message": "no", "type": "invalid_request_error"}})

    with LoopbackServer(refuse) as server:
        code, out = adrs("new", "cache_admit", "--description", DESCRIPTION, "--simulator",
                         SIMULATOR, "--into", tmp_path, "--model", "m", "--base-url", server.url)
    assert code == 2 and "the model could not draft the problem" in error_line(out)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, message", [
    (["Bad-Name"], "problem name 'Bad-Name' must be lower case"),
    ([""], "problem name '' must be lower case"),  # not "into already exists"
    (["ok", "--simulator", "{tmp}/nowhere.py"], "cannot read the simulator"),
    (["ok", "--simulator", "{tmp}/broken.py"], "the simulator does not parse: line 1"),
    (["ok", "--description", "{tmp}/empty.md"], "the description is empty"),
    (["ok", "--description", "{tmp}/missing.md"], "cannot read the description"),
    (["taken"], "already exists; pick another name"),
    (["ok", "--base-url", "http://127.0.0.1:9/v1"], "model options given but no model"),
])
def test_bad_input_to_new_is_one_line_and_creates_nothing(args, message, tmp_path):
    (tmp_path / "broken.py").write_text("def (:\n")
    (tmp_path / "empty.md").write_text("  \n")
    (tmp_path / "into" / "taken").mkdir(parents=True)
    given = [a.format(tmp=tmp_path) for a in args]
    defaults = {"--description": str(DESCRIPTION), "--simulator": str(SIMULATOR)}
    for flag, value in defaults.items():
        if flag not in given:
            given += [flag, value]
    code, out = adrs("new", *given, "--into", tmp_path / "into")
    assert code == 2 and message in error_line(out), out
    assert [p.name for p in (tmp_path / "into").iterdir()] == ["taken"]


def test_into_a_file_is_one_line_and_leaves_the_file(tmp_path):
    (tmp_path / "notes").write_text("keep me")
    code, out = adrs("new", "ok", "--description", DESCRIPTION, "--simulator", SIMULATOR,
                     "--into", tmp_path / "notes")
    assert code == 2 and "--into" in error_line(out) and "is a file, not a folder" in error_line(out)
    assert (tmp_path / "notes").read_text() == "keep me"


def test_a_simulator_without_the_expected_functions_is_named(tmp_path):
    simulator = tmp_path / "sim.py"
    simulator.write_text("def run(policy):\n    return 1.0\n")
    code, out = adrs("new", "other", "--description", DESCRIPTION, "--simulator", simulator,
                     "--into", tmp_path)
    assert code == 0
    assert "warning: simulator.py defines no make_workload, score" in " ".join(out.split())
