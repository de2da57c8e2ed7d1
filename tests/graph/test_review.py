"""Human checkpoints: a reviewed run pauses after each plan; the person's answer shapes the
candidate and is recorded in its commit; a pause survives a restart."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading

import pytest

from adrs.graph.review import Mailbox, PendingReview, ReviewAnswer
from adrs.graph.rundir import RunError, RunPaths
from adrs.graph.runner import create_run, execute
from adrs.graph.settings import RunSettings
from adrs.tools.problem import Problem
from adrs.workspace.repository import RunRepository


def reviewed_run(toy_dir, run_dir, **settings):
    create_run(Problem.load(toy_dir), RunSettings.build(problem="toy", review=True, **settings),
               run_dir)
    return run_dir


def test_answers_shape_the_candidates_and_reach_their_commits(toy_dir, tmp_path):
    run_dir = reviewed_run(toy_dir, tmp_path / "run", iterations=2)
    asked: list[PendingReview] = []

    def person(pending: list[PendingReview]) -> dict[str, ReviewAnswer]:
        asked.extend(pending)
        item = pending[0]
        if item.iteration == 1:
            return {item.id: ReviewAnswer(reviewer="Ada", hypothesis="WIDTH  matters\nmost.")}
        other = "i0001-s0" if item.parent_key == "i0000-s0" else "baseline"
        return {item.id: ReviewAnswer(reviewer="Grace", parent=other)}

    final = execute(run_dir, answerer=person)
    assert final["stop_reason"] == "completed 2 iterations"
    assert [item.key for item in asked] == ["i0001-s0", "i0002-s0"]
    repo = RunRepository.open(run_dir)
    first, second = repo.record("i0001-s0"), repo.record("i0002-s0")
    assert first.message.hypothesis.startswith("WIDTH  matters\nmost.\nChange: ")
    assert first.message.review.model_dump() == {
        "reviewer": "Ada", "hypothesis": "WIDTH matters most.", "parent": "", "planned_parent": ""}
    planned = repo.resolve(asked[1].parent_key)
    assert second.message.review.planned_parent == planned != second.parent_id
    assert second.message.review.parent == second.parent_id  # the git parent is the person's choice
    trailers = subprocess.run(["git", "-C", str(run_dir), "log", "-1", "--format=%(trailers)",
                               second.id], capture_output=True, text=True, check=True).stdout
    assert f"Reviewed-by: Grace\nReview-Parent: {second.parent_id}\n" in trailers


def test_an_answer_the_run_cannot_take_is_asked_again_with_the_reason(toy_dir, tmp_path):
    run_dir = reviewed_run(toy_dir, tmp_path / "run", iterations=1)
    asked: list[PendingReview] = []

    def person(pending):
        asked.append(pending[0])
        parent = "i0009-s0" if len(asked) == 1 else ""
        return {pending[0].id: ReviewAnswer(reviewer="Ada", parent=parent)}

    execute(run_dir, answerer=person)
    assert [item.error for item in asked] == ["", "parent i0009-s0: no program with key i0009-s0"]
    assert asked[0].id != asked[1].id and asked[0].key == asked[1].key
    assert RunRepository.open(run_dir).record("i0001-s0").message.review.reviewer == "Ada"


def test_without_an_answerer_a_reviewed_run_stays_paused(toy_dir, tmp_path):
    run_dir = reviewed_run(toy_dir, tmp_path / "run", iterations=1, width=2)
    values = execute(run_dir)
    assert "stop_reason" not in values
    # The pipeline codes an answered plan at once (i0001-s0 may be committed already); the
    # unanswered one is not.
    assert "i0001-s1" not in [r.key for r in RunRepository.open(run_dir).records()]


def test_the_mailbox_takes_only_answers_the_run_can_use(toy_dir, tmp_path):
    run_dir = reviewed_run(toy_dir, tmp_path / "run", iterations=1)
    repo = RunRepository.open(run_dir)
    mailbox = Mailbox(RunPaths(run_dir))
    waiting = [PendingReview(id="ab" * 16, key="i0001-s0", iteration=1, slot=0, summary="s",
                             hypothesis="h", change="c", expected_effect="e", operator="perturb",
                             parent_id=repo.resolve("baseline"), parent_key="i0000-s0",
                             parent_score=0.1)]
    for review_id, answer, error in [
            ("cd" * 16, ReviewAnswer(reviewer="Ada"), "no plan is waiting"),
            ("ab" * 16, ReviewAnswer(reviewer=""), "needs the reviewer's name"),
            ("ab" * 16, ReviewAnswer(reviewer="Ada", parent="nonsense"), "unknown revision"),
            ("../../etc", ReviewAnswer(reviewer="Ada"), "no plan is waiting")]:
        with pytest.raises(RunError, match=error):
            mailbox.post(review_id, answer, waiting, repo)
    assert not mailbox.folder.exists() or not any(mailbox.folder.iterdir())
    mailbox.post("ab" * 16, ReviewAnswer(reviewer="Ada", parent="baseline"), waiting, repo)
    assert mailbox.take(["ab" * 16]) == {"ab" * 16: ReviewAnswer(reviewer="Ada", parent="baseline")}
    assert mailbox.take(["ab" * 16]) == {}  # taken once


class Terminal:
    """`adrs` in a child process, its output read line by line."""

    def __init__(self, *args, env):
        self.process = subprocess.Popen([sys.executable, "-m", "adrs", *map(str, args)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.process.stdout],
                         daemon=True).start()

    def wait_for(self, text: str, timeout: float = 60) -> None:
        while not any(text in line for line in self.seen):
            self.seen.append(self.lines.get(timeout=timeout))

    def type(self, *lines: str) -> None:
        self.process.stdin.write("".join(f"{line}\n" for line in lines))
        self.process.stdin.flush()


def test_a_run_killed_at_a_pause_resumes_there_and_keeps_the_edit(toy_dir, tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "ADRS_REVIEWER": "Ada", "COLUMNS": "120"}
    first = Terminal("run", toy_dir, "--review", "--iterations", 1, "--width", 2,
                     "--run-dir", run_dir, env=env)
    first.wait_for("review i0001-s0")
    first.type("e", "A person's hypothesis.")
    first.wait_for("review i0001-s1")  # the edit of i0001-s0 is in the checkpoint by now
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=30)
    # The pipeline codes an answered plan at once (i0001-s0 may be committed already); the
    # unanswered one is not.
    assert "i0001-s1" not in [r.key for r in RunRepository.open(run_dir).records()]

    second = Terminal("resume", run_dir, env=env)
    second.wait_for("review i0001-s1")
    second.type("a")
    assert second.process.wait(timeout=60) == 0
    second.wait_for("stopped: completed 1 iterations")
    assert not any("review i0001-s0" in line for line in second.seen)  # not asked again
    repo = RunRepository.open(run_dir)
    edited, approved = repo.record("i0001-s0").message, repo.record("i0001-s1").message
    assert edited.hypothesis.startswith("A person's hypothesis.\nChange:")
    assert edited.review.model_dump() == {"reviewer": "Ada", "hypothesis": "A person's hypothesis.",
                                          "parent": "", "planned_parent": ""}
    assert approved.review.describe() == "Ada: approved as planned"


def test_a_changed_plan_drops_the_lean_planners_own_edit():
    from adrs.agents.interface import Plan
    from adrs.graph.review import _apply

    plan = Plan(parent_id="a" * 40, summary="s", hypothesis="h", change="c", expected_effect="e",
                edit="<<<<<<< SEARCH\nX = 1\n=======\nX = 2\n>>>>>>> REPLACE\n")
    kept, _ = _apply(plan, ReviewAnswer(reviewer="Ada"), None)
    assert kept.edit == plan.edit  # approved as it is: the planner's edit stands
    changed, review = _apply(plan, ReviewAnswer(reviewer="Ada", hypothesis="Try Y"), None)
    assert changed.edit == "" and changed.hypothesis == "Try Y" and review.hypothesis == "Try Y"
