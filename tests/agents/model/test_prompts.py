"""The exact prompts each role sends for a fixed run state (see prompt_state.py).

A change of a prompt file or of what the prompts are built from must show up here."""

from __future__ import annotations

from dataclasses import replace

import pytest

from adrs.agents.model.coder import ModelCoder
from adrs.agents.model.config import RoleSettings
from adrs.agents.model.critic import ModelCritic
from adrs.agents.model.evaluator import EvaluatorOptions, ModelEvaluator
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

# Inspirations (other good programs, different from the parent; borrow what works)
## i0000-s0: Baseline: initial.py as given
Figures: combined_score=0.0490, rate=1, width=2
Workloads: far 0.0180, near 0.0800
Feedback: worst_workloads: far
```python
\"\"\"A tiny program for the tests: two constants to tune.\"\"\"

# EVOLVE-BLOCK-START
WIDTH = 2
RATE = 1.0


def choose():
    return WIDTH, RATE
# EVOLVE-BLOCK-END
```

# Search advice: explore; island 0 of 1 (UCB: mean reward 0.50)

# Recent attempts (plan -> outcome), oldest first
- i0001-s0 from i0000-s0 [evaluated 0.1650, +0.1160]: Raise WIDTH to 5 -> Score 0.1650 (+0.1160 vs parent i0000-s0). Near gains most.
- i0002-s0 from i0001-s0 [rejected]: Raise RATE to 9 -> critic: reject: RATE 9 is far from both targets

# Research notes
- i0001-s0: WIDTH near 5 suits the near workload.

# Guidance from the person running this search (follow it unless the evidence is against it)
none

# Your task
Propose 2 plan(s) for iteration 3, each a different idea. Call `submit_plans` with `plans`, a list of 2 item(s), each with: `parent`, the key of a program listed above (for instance i0001-s0); `summary`, one line naming the change; `hypothesis`, why it should help, citing the evidence; `change`, the concrete edit to the evolvable region; `expected_effect`, which metric should move and which way; and `rewrite`, true only if the change needs the whole region rewritten rather than edited."""

RULES = """# Rules (the critic rejects an edit that breaks one)
- Change only the lines between the markers; the text outside them must stay exactly as it is.
- Import none of these modules: `builtins`, `ctypes`, `gc`, `importlib`, `inspect`, `multiprocessing`, `os`, `pathlib`, `shutil`, `signal`, `socket`, `subprocess`, `sys`, `threading`.
- Call none of these functions: `__import__`, `breakpoint`, `compile`, `delattr`, `eval`, `exec`, `getattr`, `globals`, `input`, `open`, `setattr`, `vars`.
- Refer to none of these names: `__builtins__`, `__loader__`, `__spec__`, `evaluate`, `evaluate_heldout`, `evaluator`, `heldout_seeds`, `train_seeds`.
- Use no attribute whose name starts with `__`.
- Write a program that differs from its parent and from every program already tried; comments and layout do not make a program different.
"""

CODER = README + "\n" + RULES + "\n" + PLAN + """
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

# What the evaluator found about the parent i0001-s0
Figures: combined_score=0.1650, rate=1, width=5
Findings: Score 0.1650 (+0.1160 vs parent i0000-s0). Near gains most.
Feedback:
worst_workloads: far

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
Per workload: far 0.0442, near 0.2857

# The simulator's result on every training workload
status ok, combined_score 0.5284 (parent i0001-s0 0.1650, change +0.3634)
metrics: rate=0.5, width=5
per workload: far 0.0567, near 1.0000
worst_workloads: far

Call `write_findings` with `summary`, `details` and `note`."""

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
        return ModelGateway(RoleSettings(model="m"), transport=ChatTransport(fake))

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
    expected_system = sections(role)["system_findings" if role == "evaluator" else "system"]
    assert system == expected_system and system.startswith(SYSTEM_OPENINGS[role])


def test_the_prompt_files_have_the_sections_the_roles_use():
    assert set(sections("planner")) == {"system", "user", "task", "task_with_edit"}
    assert set(sections("coder")) == {"system", "rules", "user", "task_edit", "task_rewrite",
                                      "revise", "duplicate", "edit_failed", "cut"}
    assert set(sections("critic")) == {"system", "user"}
    assert set(sections("evaluator")) == {"system", "system_findings", "user", "result", "final"}
    assert set(sections("common")) == {"repair", "repair_cut", "json_answer", "probe_system",
                                       "probe_user"}
    assert render("common", "repair", error="x: missing", tool="submit_plans") == (
        "Your answer could not be used: x: missing\nAnswer again with `submit_plans`: call it, or "
        "if you cannot call tools, write its arguments as one JSON object. Follow its schema "
        "exactly, with every required field.")
    with pytest.raises(KeyError):
        render("planner", "user")  # a missing value is an error, not a hole


def test_a_duplicate_is_sent_back_naming_the_program_it_repeats(tmp_path):
    problem, repo = fixed_run(tmp_path)
    request = code_request(problem, repo)
    duplicate = repo.program_source("i0002-s0").replace("RATE = 9.0", "RATE = 9.00  # again")
    request = replace(request, feedback=("duplicates a program already tried",),
                      previous_source=duplicate)
    fake = scripted(edit("RATE = 9.00  # again", "RATE = 0.5"))
    ModelCoder(ModelGateway(RoleSettings(model="m"), transport=ChatTransport(fake))).write(request)
    sent = fake.received[0][1].content
    assert sent.endswith("""The critic sent this edit back:
- duplicates a program already tried
Change the program above so that every point is addressed; it is your previous attempt, not the parent.
Your previous attempt is the same program, up to comments and layout, as i0002-s0, which was already tried:
- i0002-s0 from i0001-s0 [rejected]: Raise RATE to 9 -> critic: reject: RATE 9 is far from both targets
Make a change that leads to a program not tried yet.
Make the change with SEARCH/REPLACE blocks.""")


def test_the_tool_loop_opens_with_its_own_system_prompt(tmp_path):
    problem, repo = fixed_run(tmp_path)
    fake = scripted(call("write_findings", {"summary": "s"}))
    gateway = ModelGateway(RoleSettings(model="m"), transport=ChatTransport(fake))
    ModelEvaluator(gateway, EvaluatorOptions(tools=True, max_tool_calls=3)).assess(
        assess_request(problem, repo))
    system, user = (m.content for m in fake.received[0])
    assert system == render("evaluator", "system", max_calls=3) and user == EVALUATOR.split(
        "\n\n# The simulator's result")[0]
