"""When a role's model gives nothing usable, the role records a failed attempt and the run goes on;
research notes live in git notes and survive a repeat; a replayed run resumes like any other."""

from __future__ import annotations

import httpx
import openai
import pytest

from adrs.agents.model.config import ModelSettings
from adrs.agents.model.team import model_team
from adrs.graph.rundir import RunError
from adrs.graph.runner import create_run, execute, run_status
from adrs.graph.settings import RunSettings, replay_settings
from adrs.tools.problem import Problem
from adrs.workspace.repository import RunRepository, WorkspaceError
from tests.agents.model.fakes import call, edit, plan, scripted, text
from tests.agents.model.test_scripted_run import history


def server_down(_messages):
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    raise openai.InternalServerError("Error code: 500", response=httpx.Response(500, request=request),
                                     body=None)


MODEL = ModelSettings(planner="p", coder="c", critic="r", evaluator="e", max_attempts=1,
                      backoff_seconds=0.0)


def run_with(toy_dir, run_dir, fakes, iterations):
    settings = RunSettings.build(problem="toy", iterations=iterations, brain="model", model=MODEL)
    create_run(Problem.load(toy_dir), settings, run_dir)
    final = execute(run_dir, team=model_team(MODEL, run_root=run_dir, chat_models=fakes))
    assert all(fake.left() == [] for fake in fakes.values())
    return final, RunRepository.open(run_dir)


def test_a_failed_critic_or_evaluator_and_bad_edits_do_not_stop_the_run(toy_dir, tmp_path):
    fakes = {
        # 1: a plan whose coder never produces an edit that applies: the candidate is dropped.
        # 2: a plan; the critic's server is down (approved on the static checks); the evaluator's
        #    server is down too (findings from the figures alone, score from the tool).
        "planner": scripted(call("submit_plans", {"plans": [plan("i0000-s0", "Raise WIDTH")]}),
                            call("submit_plans", {"plans": [plan("i0000-s0", "Raise WIDTH")]})),
        "coder": scripted(edit("WIDTH = 9", "WIDTH = 3"), edit("WIDTH = 8", "WIDTH = 3"),
                          edit("WIDTH = 7", "WIDTH = 3"), edit("WIDTH = 2", "WIDTH = 5")),
        "critic": scripted(server_down),
        "evaluator": scripted(server_down),
    }
    final, repo = run_with(toy_dir, tmp_path / "run", fakes, iterations=2)
    assert final["iteration"] == 2 and final["evaluations"] == 1
    assert final["faults"] == {"bad_edit": 3, "failed_attempt": 3, "failed_call": 2,
                               "server_error": 2}
    records = repo.records()
    assert [(r.key, r.status) for r in records] == [("i0000-s0", "baseline"),
                                                   ("i0001-s0", "rejected"),
                                                   ("i0002-s0", "evaluated")]
    # Every key gets a commit: the coder's failure keeps the parent's program, with its reason.
    assert records[1].message.verdict.startswith("no program written")
    assert records[1].program_blob == records[0].program_blob
    scored = records[2]
    assert scored.score == pytest.approx((1 / 3.5 + 1 / 22.625) / 2)
    assert scored.message.verdict.startswith("approve: static checks passed; no model review: "
                                             "no answer after 1 try")
    assert scored.message.findings.startswith("Score 0.1650, better than parent i0000-s0")
    assert repo.notes() == {}


def test_a_planner_without_a_usable_plan_stops_the_run_until_it_is_resumed(toy_dir, tmp_path):
    fakes = {"planner": scripted(text("hmm"), text("still thinking"), text("no")),
             **{role: scripted() for role in ("coder", "critic", "evaluator")}}
    with pytest.raises(RunError, match="iteration 1: the planner's model \\(p\\) gave no usable "
                                       "plan: no usable submit_plans answer after 3 tries; last "
                                       "problem: no call of submit_plans and no JSON object"):
        run_with(toy_dir, tmp_path / "run", fakes, iterations=1)
    assert run_status(tmp_path / "run").get("iteration") is None  # nothing counted as done
    fixed = {"planner": scripted(call("submit_plans", {"plans": [plan("i0000-s0", "Raise")]})),
             "coder": scripted(edit("WIDTH = 2", "WIDTH = 5")),
             "critic": scripted(call("submit_verdict", {"decision": "Approve"})),
             "evaluator": scripted(call("write_findings", {"summary": "ok"}))}
    final = execute(tmp_path / "run", team=model_team(MODEL, run_root=tmp_path / "run",
                                                      chat_models=fixed))
    assert final["stop_reason"] == "completed 1 iterations" and final["evaluations"] == 1


def test_a_coder_whose_server_gives_no_answer_stops_the_run(toy_dir, tmp_path):
    fakes = {"planner": scripted(call("submit_plans", {"plans": [plan("i0000-s0", "Raise")]})),
             "coder": scripted(server_down), "critic": scripted(), "evaluator": scripted()}
    with pytest.raises(RunError, match="i0001-s0 code r0: the coder's model \\(c\\) gave no answer: "
                                       "no answer after 1 try \\(last: server error\\); fix it, "
                                       "then `adrs resume"):
        run_with(toy_dir, tmp_path / "run", fakes, iterations=1)


def test_research_notes_are_git_notes_set_once(toy_dir, tmp_path):
    fakes = {"planner": scripted(call("submit_plans", {"plans": [plan("i0000-s0", "Raise")]})),
             "coder": scripted(edit("WIDTH = 2", "WIDTH = 5")),
             "critic": scripted(call("submit_verdict", {"decision": "approve"})),
             "evaluator": scripted(call("write_findings", {"summary": "ok", "note": "# Lesson\n"
                                                           "WIDTH 5 helps.  \n\n"}))}
    _, repo = run_with(toy_dir, tmp_path / "run", fakes, iterations=1)
    sha = repo.resolve("i0001-s0")
    assert repo.notes() == {sha: "# Lesson\nWIDTH 5 helps.\n"}  # a '#' line is kept as written
    repo.add_note(sha, "# Lesson\nWIDTH 5 helps.")  # a repeated step changes nothing
    assert repo.notes() == {sha: "# Lesson\nWIDTH 5 helps.\n"}
    repo.add_note("i0001-s0", "Replaced.")
    assert repo.note(sha) == "Replaced.\n"
    with pytest.raises(WorkspaceError, match="must not be empty"):
        repo.add_note(sha, "  \n")
    assert "error" not in repo.fsck().lower()


class Stop(Exception):
    pass


def test_a_replay_stopped_midway_resumes_to_the_recorded_run(toy_dir, tmp_path):
    answers = [{"planner": call("submit_plans", {"plans": [plan(parent, f"Set WIDTH to {n}")]}),
                "coder": edit(f"WIDTH = {n - 1}", f"WIDTH = {n}"),
                "critic": call("submit_verdict", {"decision": "approve"}),
                "evaluator": call("write_findings", {"summary": "s", "note": f"WIDTH {n} tried."})}
               for parent, n in (("i0000-s0", 3), ("i0001-s0", 4), ("i0002-s0", 5))]
    fakes = {role: scripted(*(step[role] for step in answers)) for role in answers[0]}
    recorded = tmp_path / "recorded"
    final, _ = run_with(toy_dir, recorded, fakes, iterations=3)

    def stop_after_one(node, update):
        if node == "commit" and update["line"]["key"] == "i0001-s0":
            raise Stop

    settings = replay_settings(RunSettings.load(recorded / ".adrs" / "settings.json"), recorded)
    create_run(Problem.load(recorded / ".adrs" / "problem"), settings, tmp_path / "again")
    with pytest.raises(Stop):
        execute(tmp_path / "again", on_update=stop_after_one)
    again = execute(tmp_path / "again")
    assert history(tmp_path / "again") == history(recorded)
    assert again["usage"] == final["usage"] and again["best_score"] == final["best_score"]
