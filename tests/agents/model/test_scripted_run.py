"""Whole runs of the model brain with scripted chat models, then the same run replayed offline.

Four iterations on the toy problem (WIDTH=2, RATE=1.0; targets near (5, 0.5) and far (9, 0.25)):
  1. plan; a bad edit, retried with the failure shown; the critic sends it back; the revision is
     approved; the evaluator calls the simulator tools and writes a research note.
  2. a malformed plan, re-asked; a rewrite importing `os`: rejected by the static checks.
  3. a cut-off plan, repaired locally; the model critic rejects the edit.
  4. approved; the evaluator claims a score that is not the tool's.
The evaluator runs its tool loop here (evaluator_tools); test_roles.py covers its default.
"""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import ToolMessage

from adrs.agents.model.config import ModelSettings, Price
from adrs.graph.runner import create_run, execute
from adrs.graph.settings import RunSettings, replay_settings
from adrs.tools.problem import Problem
from adrs.workspace.repository import RunRepository
from tests.agents.model.fakes import broken_call, call, edit, plan, scripted, scripted_toy_run, text

BASELINE = (0.08 + 1 / 55.625) / 2  # WIDTH 2, RATE 1.0
WIDTH5 = (1 / 3.5 + 1 / 22.625) / 2  # WIDTH 5, RATE 1.0
BEST = (1.0 + 1 / 17.625) / 2  # WIDTH 5, RATE 0.5
REWRITE = ("```python\nimport os\nWIDTH = int(os.environ.get('W', '5'))\nRATE = 1.0\n\n\n"
           "def choose():\n    return WIDTH, RATE\n```")


def settings() -> RunSettings:
    model = ModelSettings(planner="fake-planner", coder="fake-coder", critic="fake-critic",
                          evaluator="fake-evaluator", backoff_seconds=0.0, evaluator_tools=True,
                          prices={"fake-planner": Price(input=10, output=30),
                                  **{f"fake-{r}": Price(input=1, output=2)
                                     for r in ("coder", "critic", "evaluator")}})
    return RunSettings.build(problem="toy", iterations=4, seed=5, brain="model", model=model,
                             max_dollars=1.0)


def scripts() -> dict:
    cut_plan = json.dumps({"plans": [plan("i0001-s0", "Lower RATE to 0.1")]})[:-3]
    return {
        "planner": scripted(
            call("submit_plans", {"plans": [plan("i0000-s0", "Raise WIDTH towards the near target")]}),
            call("submit_plans", {"plans": [{"parent": "i0001-s0", "summary": "Rewrite choose"}]}),
            call("submit_plans", {"plans": [plan("i0001-s0", "Rewrite choose", rewrite=True)]}),
            broken_call("submit_plans", cut_plan),
            call("submit_plans", {"plans": [plan("i0001-s0", "Lower RATE to 0.5")]})),
        "coder": scripted(
            edit("WIDTH = 3", "WIDTH = 4"), edit("WIDTH = 2", "WIDTH = 4"),
            edit("    WIDTH = 4", "    WIDTH = 5"),
            text(REWRITE), edit("RATE = 1.0", "RATE = 0.1"), edit("RATE = 1.0", "RATE = 0.5")),
        "critic": scripted(
            call("submit_verdict", {"decision": "revise",
                                    "reasons": ["WIDTH 4 stops short of the near target at 5."]}),
            call("submit_verdict", {"decision": "approve", "reasons": ["Matches the plan."]}),
            call("submit_verdict", {"decision": "reject",
                                    "reasons": ["RATE 0.1 overshoots both targets."]}),
            call("submit_verdict", {"decision": "approve", "reasons": ["Matches the plan."]})),
        "evaluator": scripted(
            call("evaluate_workloads", {"workloads": ["near"]}),
            call("compare_with_parent", {}),
            call("write_findings", {"summary": "Better on near.", "details": "Both workloads gain.",
                                    "note": "WIDTH near 5 suits the near workload."}),
            call("evaluate_all", {}),
            call("write_findings", {"summary": "Claims a perfect 0.99!", "details": "",
                                    "note": "RATE 0.5 matches the near target."})),
    }


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    fakes = scripts()
    run_dir, final = scripted_toy_run(tmp_path_factory.mktemp("scripted"), settings(), fakes)
    return run_dir, final, fakes


def history(run_dir):
    repo = RunRepository.open(run_dir)
    records = repo.records()
    keys = {r.id: r.key for r in records}
    notes = {keys[sha]: text_ for sha, text_ in repo.notes().items()}
    return [(r.key, keys.get(r.parent_id), repo.program_source(r.id), r.message.to_text(),
             notes.get(r.key)) for r in records]


def test_the_four_roles_drive_four_iterations(recorded):
    run_dir, final, fakes = recorded
    assert all(fake.left() == [] for fake in fakes.values())  # every scripted answer was asked for
    repo = RunRepository.open(run_dir)
    records = {r.key: r for r in repo.records()}
    assert [(k, r.status) for k, r in records.items()] == [
        ("i0000-s0", "baseline"), ("i0001-s0", "evaluated"), ("i0002-s0", "rejected"),
        ("i0003-s0", "rejected"), ("i0004-s0", "evaluated")]
    first, rewrite, overshoot, best = (records[f"i000{i}-s0"] for i in range(1, 5))
    assert "WIDTH = 5\nRATE = 1.0\n" in repo.program_source(first.id)
    assert first.score == pytest.approx(WIDTH5) and first.message.model == "fake-planner+fake-coder"
    assert first.message.verdict == "approve: Matches the plan.\n(after 1 revision(s))"
    assert first.message.findings.startswith("Score 0.1650 (+0.1160 vs parent i0000-s0). "
                                             "Better on near.")
    assert rewrite.message.verdict == "reject: imports forbidden module os"
    assert rewrite.message.operator == "llm-rewrite" and rewrite.parent_id == first.id
    assert overshoot.message.verdict == "reject: RATE 0.1 overshoots both targets."
    # The score of record is the tool's, whatever the model wrote.
    assert best.score == pytest.approx(BEST) and final["best_id"] == best.id
    assert best.message.findings.startswith("Score 0.5284 (+0.3634 vs parent i0001-s0). "
                                            "Claims a perfect 0.99!")
    assert repo.note(first.id) == "WIDTH near 5 suits the near workload.\n"
    assert repo.note(best.id) == "RATE 0.5 matches the near target.\n"
    assert "error" not in repo.fsck().lower()


def test_usage_and_faults_are_counted_per_role(recorded):
    _, final, _ = recorded
    # Every scripted answer reports 100 input and 10 output tokens. Planner: 5 calls at
    # $10/$30 per million; the others $1/$2: coder 6 calls, critic 4, evaluator 5.
    assert final["usage"] == {
        "coder": {"calls": 6, "input_tokens": 600, "output_tokens": 60,
                  "dollars": pytest.approx(6 * (100 * 1 + 10 * 2) / 1e6)},
        "critic": {"calls": 4, "input_tokens": 400, "output_tokens": 40,
                   "dollars": pytest.approx(4 * 120 / 1e6)},
        "evaluator": {"calls": 5, "input_tokens": 500, "output_tokens": 50,
                      "dollars": pytest.approx(5 * 120 / 1e6)},
        "planner": {"calls": 5, "input_tokens": 500, "output_tokens": 50,
                    "dollars": pytest.approx(5 * (100 * 10 + 10 * 30) / 1e6)}}
    assert final["faults"] == {"bad_edit": 1, "malformed": 1, "repaired": 1}
    assert final["stop_reason"] == "completed 4 iterations"


def test_the_models_were_shown_failures_revisions_tool_results_and_notes(recorded):
    _, _, fakes = recorded
    coder = fakes["coder"].received
    assert coder[1][-1].content.startswith(
        "Your edit could not be applied: block 1: the SEARCH part is not in the evolvable region "
        "(its first line 'WIDTH = 3' is closest to the region's 'WIDTH = 2')")
    assert "# Program (your previous attempt, revision 0)" in coder[2][1].content
    assert "The critic sent this edit back:\n- WIDTH 4 stops short of the near target at 5.\n" \
        in coder[2][1].content and "WIDTH = 4" in coder[2][1].content
    evaluator = fakes["evaluator"].received
    tool_replies = [m.content for m in evaluator[2] if isinstance(m, ToolMessage)]
    assert tool_replies == [
        "status ok, combined_score 0.2857\nmetrics: rate=1, width=5\nper workload: near 0.2857\n"
        "worst_workloads: near",
        "combined_score: parent 0.0490, candidate 0.1650, change +0.1160\n"
        "far: parent 0.0180, candidate 0.0442, change +0.0262\n"
        "near: parent 0.0800, candidate 0.2857, change +0.2057"]
    assert fakes["evaluator"].bound[0] == {"tool_choice": None, "tools": [
        "evaluate_all", "evaluate_workloads", "compare_with_parent", "write_findings"]}
    planner = fakes["planner"].received
    second = planner[1][1].content
    assert "# Research notes\n- i0001-s0: WIDTH near 5 suits the near workload.\n" in second
    assert ("- i0001-s0 from i0000-s0 [evaluated 0.1650, +0.1160]: Raise WIDTH towards the near "
            "target -> Score 0.1650 (+0.1160 vs parent i0000-s0). Better on near.") in second
    repair = planner[2][-1].content
    assert repair.startswith("Your answer could not be used: plans.0.hypothesis: Field required")
    assert fakes["planner"].bound[0] == {"tools": ["submit_plans"], "tool_choice": "submit_plans"}


def test_a_replayed_run_equals_the_recorded_one(recorded, tmp_path):
    run_dir, final, _ = recorded
    problem = Problem.load(run_dir / ".adrs" / "problem")
    replay_dir = tmp_path / "replay"
    create_run(problem, replay_settings(settings(), run_dir), replay_dir)
    again = execute(replay_dir)  # builds the team from the settings: no chat model, no network
    assert history(replay_dir) == history(run_dir)
    for key in ("best_score", "iteration", "evaluations", "usage", "faults", "stop_reason"):
        assert again[key] == final[key], key
    # The replay recorded what it used, so it can itself be replayed.
    assert sorted(p.name for p in (replay_dir / ".adrs" / "recordings").glob("*.json")) == \
        sorted(p.name for p in (run_dir / ".adrs" / "recordings").glob("*.json"))
