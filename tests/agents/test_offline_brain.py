"""The offline brain's planner and coder on a real run repository of the toy problem."""

from __future__ import annotations

import dataclasses

from adrs.agents.evolve_block import Literal, split_program
from adrs.agents.offline.coder import OfflineCoder
from adrs.agents.offline.numeric import Proposal
from adrs.agents.offline.planner import OfflinePlanner, nudged_text
from adrs.agents.roles import CodeRequest, PlanRequest
from adrs.agents.schemas import LiteralEdit, Plan
from adrs.tools.problem import Problem
from adrs.workspace.database import ProgramDatabase
from adrs.workspace.repository import RunRepository
from tests.conftest import start_run


def literal(text: str) -> Literal:
    return Literal(index=0, text=text, line=1, column=0, name="X")


def test_nudges_keep_type_sign_and_a_floor():
    assert nudged_text(literal("10"), +1, 0.5) == "15"
    assert nudged_text(literal("10"), +1, 0.1) == "11"
    assert nudged_text(literal("10"), -1, 1.0) == "1"
    assert nudged_text(literal("1"), +1, 0.1) == "2"
    assert nudged_text(literal("0.5"), +1, 1.0) == "1.0"
    assert nudged_text(literal("0.5"), -1, 1.0) == "0.25"
    assert nudged_text(literal("0.0"), -1, 0.5) == "-0.5"
    assert nudged_text(literal("-4"), +1, 1.0) == "0" and nudged_text(literal("-1"), -1, 0.1) == "-2"


def request(run_dir, iteration=1, count=3, seed=0):
    repo = RunRepository.open(run_dir)
    return PlanRequest(iteration=iteration, count=count,
                       database=ProgramDatabase.from_repository(repo), repository=repo,
                       problem=Problem.load(run_dir / ".adrs" / "problem"), seed=seed)


def test_plans_are_seeded_sequential_and_cite_evidence(toy_dir, tmp_path):
    start_run(toy_dir, tmp_path / "run", iterations=3, width=2, seed=5)
    plans = OfflinePlanner().plan(request(tmp_path / "run", iteration=4, count=4))
    again = OfflinePlanner().plan(request(tmp_path / "run", iteration=4, count=4))
    assert plans == again and OfflinePlanner.sequential  # called in key order by the pipeline
    assert len({p.literal_edits for p in plans}) == 4
    for plan in plans:
        assert "scores" in plan.hypothesis and "rank" in plan.hypothesis
        assert "CMA-ES study over 2 constants" in plan.hypothesis
        assert plan.operator == "perturb" and plan.literal_edits


def test_the_study_learns_every_outcome_once(toy_dir, tmp_path):
    start_run(toy_dir, tmp_path / "run", iterations=2, width=1, seed=1)
    planner = OfflinePlanner()
    full = request(tmp_path / "run", iteration=1, count=1)
    planner.plan(dataclasses.replace(full, database=full.database.prefix(1)))  # asks for i0001-s0
    assert planner._progress.told == 0
    later = dataclasses.replace(full, iteration=3, database=full.database.prefix(2))
    planner.plan(later)  # i0001-s0's outcome is in this snapshot: told once
    planner.plan(dataclasses.replace(later, iteration=4))
    assert planner._progress.told == 1 and planner._progress.best_score is not None


def test_the_coder_applies_the_edit_and_goes_further_when_sent_back(toy_dir):
    source = Problem.load(toy_dir).initial_source
    plan = Plan(parent_id="p", summary="Raise WIDTH 2 -> 3", hypothesis="h", change="c",
                expected_effect="e", operator="perturb",
                literal_edits=(LiteralEdit(index=0, old="2", new="3", label="WIDTH"),))
    first = OfflineCoder().write(CodeRequest(plan, source, None, 1, 0, revision=0))
    assert "WIDTH = 3" in first.source and first.note == "WIDTH: 2 -> 3"
    second = OfflineCoder().write(CodeRequest(plan, source, None, 1, 0, revision=2))
    assert "WIDTH = 5" in second.source
    stale = plan.model_copy(update={"literal_edits": (LiteralEdit(index=0, old="9", new="3"),)})
    assert "is not '9'" in OfflineCoder().write(CodeRequest(stale, source, None, 1, 0, 0)).error


def test_going_further_keeps_a_negative_constant_negative_and_a_count_at_least_zero(toy_dir):
    source = Problem.load(toy_dir).initial_source.replace("WIDTH = 2", "WIDTH = 1")

    def further(new: str, revision: int) -> str:
        plan = Plan(parent_id="p", summary="s", hypothesis="h", change="c", expected_effect="e",
                    operator="perturb", literal_edits=(LiteralEdit(index=0, old="1", new=new),))
        return OfflineCoder().write(CodeRequest(plan, source, None, 1, 0, revision)).source

    assert "WIDTH = -5" in further("-2", 1)  # 1 -> -2, then as far again
    assert "WIDTH = 0" in further("0", 2)  # 1 -> 0 -> -2 would make a count negative


def test_proposals_of_programs_already_tried_are_drawn_again(tmp_path):
    """Small integer constants give a sampler few programs: without redraws it lands on tried
    ones again and again, and the critic sends each back for revision or rejects it."""
    folder = tmp_path / "ints"
    folder.mkdir()
    (folder / "README.md").write_text("Two small integer constants.\n")
    (folder / "initial.py").write_text("# EVOLVE-BLOCK-START\nA = 2\nB = 1\n# EVOLVE-BLOCK-END\n")
    (folder / "evaluator.py").write_text(
        "import re\n\n\ndef evaluate(program_path):\n"
        "    a, b = (int(v) for v in re.findall(r'= (-?\\d+)', open(program_path).read()))\n"
        "    return {'combined_score': 1.0 / (1.0 + abs(a - 5) + abs(b - 3))}\n")
    (folder / "problem.toml").write_text('name = "ints"\n[limits]\ntimeout_seconds = 20\n')
    start_run(folder, tmp_path / "run", iterations=8, width=2, seed=0)
    database = ProgramDatabase.from_repository(RunRepository.open(tmp_path / "run"))
    records = database.recent(16)
    sent_back = [r.key for r in records if "revision" in r.message.verdict or r.status != "evaluated"]
    assert len(sent_back) <= 5, sent_back  # 8 of 16 when every draw went to the critic


def test_a_draw_of_a_known_program_is_told_its_score_and_drawn_again(toy_dir, tmp_path):
    start_run(toy_dir, tmp_path / "run", iterations=1, width=2, seed=3)
    repo = RunRepository.open(tmp_path / "run")
    database = ProgramDatabase.from_repository(repo)
    parts = split_program(repo.program_source(database.baseline.id))
    tried = [split_program(repo.program_source(r.id)).literals() for r in database.recent(2)]

    class Sampler:  # proposes the two programs tried already, then a new one
        def __init__(self):
            self.draws = [{lit.index: lit.text for lit in literals} for literals in tried]
            self.draws.append({0: "7", 1: "0.125"})
            self.told = []

        def ask(self, key):
            return Proposal(trial=len(self.told), texts=self.draws[len(self.told)])

        def tell(self, key, score):
            self.told.append(score)

    sampler = Sampler()
    proposal = OfflinePlanner._ask_new(sampler, "i0002-s0", parts, database)
    assert proposal.texts == {0: "7", 1: "0.125"}
    assert sampler.told == [r.score for r in database.recent(2)]
