"""`--team lean`: the planner writes the edit with its plan, so a candidate costs one model call.

Three iterations on the toy problem with scripted models:
  1. the planner's edit applies: the coder is never asked;
  2. the planner's edit does not apply: the coder writes the edit (one call, counted as bad_edit);
  3. the plan starts from another program than the suggested one, whose code the planner did
     not see: its edit is dropped and the coder writes one.
The critic and the evaluator are the offline ones (static checks, findings from the figures).
"""

from __future__ import annotations

import re

import pytest

from adrs.agents.model.config import ModelSettings
from adrs.graph.settings import RunSettings
from adrs.workspace.repository import RunRepository
from tests.agents.model.fakes import call, edit, plan, scripted, scripted_toy_run


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def settings() -> RunSettings:
    model = ModelSettings(planner="fake", coder="fake", critic="offline", evaluator="offline",
                          team="lean", backoff_seconds=0.0)
    return RunSettings.build(problem="toy", iterations=3, seed=5, brain="model", model=model)


def suggested(messages) -> str:
    return messages[-1].content.split("# Suggested parent: ")[1].split("\n")[0]


def planner_answer(summary: str, change: str, *, elsewhere: bool = False):
    """A plan with an edit, on the suggested parent, or `elsewhere` on another program."""
    def answer(messages):
        parent = suggested(messages)
        if elsewhere:
            parent = "i0000-s0" if parent != "i0000-s0" else "i0001-s0"
        return call("submit_plans", {"plans": [{**plan(parent, summary), "edit": change}]})
    return answer


def set_width(messages):
    """The coder's answer: WIDTH = 4, whatever WIDTH the program it was shown has."""
    width = re.search(r"^WIDTH = \d+$", messages[-1].content, flags=re.MULTILINE).group(0)
    return edit(width, "WIDTH = 4")


@pytest.fixture(scope="module")
def lean_run(tmp_path_factory):
    fakes = {"planner": scripted(
                 planner_answer("Widen to 5", block("WIDTH = 2", "WIDTH = 5")),
                 planner_answer("Halve RATE", block("RATE = 9.9", "RATE = 0.5")),
                 planner_answer("Widen to 3", block("WIDTH = 2", "WIDTH = 3"), elsewhere=True)),
             "coder": scripted(edit("RATE = 1.0", "RATE = 0.5"), set_width)}
    run_dir, final = scripted_toy_run(tmp_path_factory.mktemp("lean"), settings(), fakes)
    return run_dir, final, fakes


def test_one_call_per_candidate_when_the_planners_edit_applies(lean_run):
    run_dir, final, fakes = lean_run
    assert all(fake.left() == [] for fake in fakes.values())
    assert final["usage"]["planner"]["calls"] == 3 and final["usage"]["coder"]["calls"] == 2
    assert set(final["usage"]) == {"planner", "coder"}  # critic and evaluator asked no model
    assert final["faults"] == {"bad_edit": 1}
    repo = RunRepository.open(run_dir)
    records = {r.key: r for r in repo.records()}
    first, second, third = (records[f"i000{i}-s0"] for i in range(1, 4))
    assert "WIDTH = 5\nRATE = 1.0\n" in repo.program_source(first.id)
    assert "Applied: the planner's edit" in first.message.to_text()
    assert "RATE = 0.5\n" in repo.program_source(second.id)  # the coder's edit
    suggested_key = suggested(fakes["planner"].received[2])
    assert records[suggested_key].id != third.parent_id  # started elsewhere
    assert "WIDTH = 4\n" in repo.program_source(third.id)  # the coder's, not the dropped edit


def test_the_lean_planner_is_asked_for_the_edit_and_the_rules(lean_run):
    _, _, fakes = lean_run
    prompt = fakes["planner"].received[0][-1].content
    assert "and `edit`, the change itself, written against the suggested parent i0000-s0" in prompt
    assert "Import none of these modules:" in prompt  # the critic's rules, as the coder gets them
    # The coder, asked after the planner's edit failed, gets the ordinary coder prompt.
    assert "# Plan: Halve RATE" in fakes["coder"].received[0][-1].content


def test_a_lean_team_needs_a_planner_model():
    with pytest.raises(ValueError, match="team lean has the planner's model write the edits"):
        ModelSettings(planner="offline", coder="m", critic="m", evaluator="m", team="lean")


def test_a_config_files_team_lean_leaves_the_unnamed_critic_offline():
    from adrs.cli.options import ModelFlags, model_settings

    config = {"model": {"name": "m", "team": "lean", "evaluator": {"name": "e"}}, "prices": {}}
    values = model_settings(ModelFlags(), config)
    settings = ModelSettings.model_validate(values)
    assert settings.team == "lean"
    assert [settings.model_for(r) for r in ("planner", "coder", "critic", "evaluator")] == [
        "m", "m", "offline", "e"]
