"""The exact prompts each role sends for a fixed run state (see prompt_state.py).

A change of a prompt file or of what the prompts are built from must show up here."""

from __future__ import annotations

import pytest

from adrs.agents.model.coder import ModelCoder
from adrs.agents.model.critic import ModelCritic
from adrs.agents.model.evaluator import ModelEvaluator
from adrs.agents.model.gateway import ChatTransport, ModelGateway
from adrs.agents.model.planner import ModelPlanner
from adrs.agents.prompts import render, sections
from tests.agents.model.fakes import call, edit, plan, scripted
from tests.agents.model.prompt_state import (
    assess_request,
    code_request,
    fixed_run,
    plan_request,
    review_request,
)

README = """# Problem
# Toy problem (tests only)

Choose two constants so that `choose()` lands near a hidden target. Higher `combined_score` is better.
"""
PLAN = """# Plan: Lower RATE to 0.5
Change: RATE = 0.5
Why: Both targets want a lower RATE.
Expected: combined_score up, near most
"""
DIFF = """```diff
--- parent
+++ candidate
@@ -1,4 +1,4 @@
 WIDTH = 5
-RATE = 1.0
+RATE = 0.5


```"""

PLANNER = README + """
# Programs you may start from (best first)
- i0001-s0: score 0.1650 — Raise WIDTH to 5
- i0000-s0: score 0.0490 — Baseline: initial.py as given

# Suggested parent: i0001-s0
```python
\"\"\"A tiny program for the tests: two constants to tune.\"\"\"

# EVOLVE-BLOCK-START
WIDTH = 5
RATE = 1.0


def choose():
    return WIDTH, RATE
# EVOLVE-BLOCK-END
```
Figures: combined_score=0.1650, rate=1, width=5
Feedback:
worst_workloads: far

# Recent attempts (plan -> outcome), oldest first
- i0001-s0 from i0000-s0 [evaluated 0.1650, +0.1160]: Raise WIDTH to 5 -> Score 0.1650 (+0.1160 vs parent i0000-s0). Near gains most.
- i0002-s0 from i0001-s0 [rejected]: Raise RATE to 9 -> critic: reject: RATE 9 is far from both targets

# Research notes
- i0001-s0: WIDTH near 5 suits the near workload.

# Guidance from the person running this search (follow it unless the evidence is against it)
none

# Your task
Propose 2 plan(s) for iteration 3, each a different idea. Call `submit_plans` with `plans`, a list of 2 item(s), each with: `parent`, the key of a program listed above (for instance i0001-s0); `summary`, one line naming the change; `hypothesis`, why it should help, citing the evidence; `change`, the concrete edit to the evolvable region; `expected_effect`, which metric should move and which way; and `rewrite`, true only if the change needs the whole region rewritten rather than edited."""

CODER = README + "\n" + PLAN + """
# Program (your previous attempt, revision 0)
```python
\"\"\"A tiny program for the tests: two constants to tune.\"\"\"

# EVOLVE-BLOCK-START
WIDTH = 5
RATE = 0.5


def choose():
    return WIDTH, RATE
# EVOLVE-BLOCK-END
```

The critic sent this edit back:
- Also keep WIDTH at 5.
Change the program above so that every point is addressed; it is your previous attempt, not the parent.
Make the change with SEARCH/REPLACE blocks."""

CRITIC = README + "\n" + PLAN + """
# The edit (revision 0), as a diff of the evolvable region
""" + DIFF + """

Call `submit_verdict` with `decision` and `reasons`."""

EVALUATOR = README + "\n" + PLAN + """
# The edit, as a diff against the parent i0001-s0
""" + DIFF + """

# The parent i0001-s0
Score: 0.1650
Per workload: far 0.0442, near 0.2857"""

SYSTEM_OPENINGS = {
    "planner": "You are the planner of a research team that improves a systems algorithm by "
               "evolving one program against a simulator.",
    "coder": "You are the coder of a research team that evolves a program against a simulator.",
    "critic": "You are the critic of a research team that evolves a program against a simulator.",
    "evaluator": "You are the evaluator of a research team that evolves a program against a "
                 "simulator.",
}


@pytest.fixture(scope="module")
def prompts(tmp_path_factory):
    problem, repo = fixed_run(tmp_path_factory.mktemp("prompts"))

    def gateway(fake):
        return ModelGateway("m", transport=ChatTransport(fake))

    fakes = {"planner": scripted(call("submit_plans", {"plans": [plan("i0001-s0", "x")]})),
             "coder": scripted(edit("WIDTH = 5", "WIDTH = 6")),
             "critic": scripted(call("submit_verdict", {"decision": "approve"})),
             "evaluator": scripted(call("write_findings", {"summary": "s"}))}
    ModelPlanner(gateway(fakes["planner"])).plan(plan_request(problem, repo))
    ModelCoder(gateway(fakes["coder"])).write(code_request(problem, repo))
    ModelCritic(gateway(fakes["critic"])).review(review_request(problem, repo))
    ModelEvaluator(gateway(fakes["evaluator"])).assess(assess_request(problem, repo))
    return {role: [m.content for m in fake.received[0]] for role, fake in fakes.items()}


@pytest.mark.parametrize("role, user", [("planner", PLANNER), ("coder", CODER),
                                        ("critic", CRITIC), ("evaluator", EVALUATOR)])
def test_each_role_receives_the_pinned_prompt(prompts, role, user):
    system, sent = prompts[role]
    assert sent == user
    expected_system = render(role, "system", max_calls=4) if role == "evaluator" \
        else sections(role)["system"]
    assert system == expected_system and system.startswith(SYSTEM_OPENINGS[role])


def test_the_prompt_files_have_the_sections_the_roles_use():
    assert set(sections("planner")) == {"system", "user"}
    assert set(sections("coder")) == {"system", "user", "task_edit", "task_rewrite", "revise",
                                      "edit_failed"}
    assert set(sections("critic")) == {"system", "user"}
    assert set(sections("evaluator")) == {"system", "user", "final"}
    assert render("common", "repair", error="x: missing", tool="submit_plans") == (
        "Your answer could not be used: x: missing\nAnswer again by calling `submit_plans` "
        "with arguments that follow its schema exactly: valid JSON with every required field.")
    with pytest.raises(KeyError):
        render("planner", "user")  # a missing value is an error, not a hole
