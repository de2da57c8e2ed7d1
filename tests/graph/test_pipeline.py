"""The steady-state pipeline: K candidates in flight, and a history that depends on the seed
and K only, never on the order in which candidates finish."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import threading
import time

import pytest

from adrs.agents.offline import offline_team
from adrs.graph.rundir import RunError
from adrs.graph.runner import create_run, execute
from adrs.graph.settings import RunSettings
from adrs.graph.slot import MAX_STAGGER_SECONDS, STAGGER_SECONDS, start_delay
from adrs.tools.problem import Problem
from adrs.workspace.errors import WorkspaceError
from adrs.workspace.repository import RunRepository
from tests.conftest import start_run
from tests.graph.test_run import history


class Jittery:
    """The offline evaluator, after a seeded random pause per candidate. The first iteration's
    three evaluations wait for each other: they pass only if all three are in flight at once."""

    def __init__(self, inner, seed: int) -> None:
        self.inner, self.seed, self.model_name = inner, seed, inner.model_name
        self.first_wave = threading.Barrier(3, timeout=20)

    def assess(self, request):
        if request.iteration == 1:
            self.first_wave.wait()  # BrokenBarrierError if the three were not in flight together
        time.sleep(random.Random(f"{self.seed}:{request.iteration}:{request.slot}").uniform(0, 0.08))
        return self.inner.assess(request)


def run(toy_dir, run_dir, jitter_seed: int) -> None:
    team = offline_team()
    evaluator = Jittery(team.evaluator, jitter_seed)
    create_run(Problem.load(toy_dir), RunSettings.build(problem="toy", iterations=4, width=3,
                                                        seed=2), run_dir)
    final = execute(run_dir, team=dataclasses.replace(team, evaluator=evaluator))
    assert final["stop_reason"] == "completed 4 iterations" and final["iteration"] == 4


def test_finish_order_does_not_change_the_history(toy_dir, tmp_path):
    run(toy_dir, tmp_path / "a", jitter_seed=1)
    run(toy_dir, tmp_path / "b", jitter_seed=2)
    assert history(tmp_path / "a") == history(tmp_path / "b")
    assert len(history(tmp_path / "a")) == 1 + 4 * 3


@pytest.mark.parametrize("limit, reason", [
    ({"max_evaluations": 5}, "used the budget of 5 evaluations"),
    ({"target_score": 0.1}, "reached the target score 0.1"),
    ({"max_minutes": 1e-6}, "used the wall-time budget of 1e-06 minutes"),
])
def test_a_stop_rule_ends_the_run_after_a_whole_prefix_of_candidates(toy_dir, tmp_path, limit,
                                                                     reason):
    final = start_run(toy_dir, tmp_path / "run", iterations=10, width=3, seed=4, **limit)
    assert final["stop_reason"] == reason
    keys = [key for key, *_ in history(tmp_path / "run")]
    numbers = sorted(int(k[1:5]) * 3 - 3 + int(k.split("-s")[1]) + 1 for k in keys[1:])
    assert numbers == list(range(1, len(numbers) + 1))  # no gap: every key before the stop
    assert len(numbers) < 30


def test_a_bad_search_table_is_one_line_before_anything_is_written(toy_dir, tmp_path):
    with open(toy_dir / "problem.toml", "a") as spec:
        spec.write("\n[search]\nislands = 0\n")
    with pytest.raises(RunError, match=r"^problem toy: problem.toml \[search\] islands: "
                                       r"Input should be greater than or equal to 1$"):
        create_run(Problem.load(toy_dir), RunSettings.build(problem="toy"), tmp_path / "run")
    assert not (tmp_path / "run").exists()


class Clocked:
    """The offline planner, noting when each slot first asked for a plan."""

    def __init__(self, inner) -> None:
        self.inner, self.model_name, self.first = inner, inner.model_name, {}

    def plan(self, request):
        self.first.setdefault(request.slot, time.monotonic())
        return self.inner.plan(request)


def run_with_planner(toy_dir, run_dir, wrap, *, width: int):
    """Two iterations of the toy problem with the offline planner wrapped by `wrap`."""
    team = offline_team()
    planner = wrap(team.planner)
    create_run(Problem.load(toy_dir), RunSettings.build(problem="toy", iterations=2, width=width),
               run_dir)
    return execute(run_dir, team=dataclasses.replace(team, planner=planner)), planner


def test_a_fresh_runs_slots_start_one_after_another(toy_dir, tmp_path):
    began = time.monotonic()
    _, planner = run_with_planner(toy_dir, tmp_path / "run", Clocked, width=4)
    starts = [planner.first[slot] - began for slot in range(4)]
    # Slot s asks no earlier than s staggers after the run began (load only makes it later).
    assert all(start >= slot * STAGGER_SECONDS for slot, start in enumerate(starts)), starts


def test_the_stagger_of_a_wide_run_is_bounded():
    assert start_delay(0, 16) == 0 and start_delay(15, 16) == pytest.approx(15 * STAGGER_SECONDS)
    assert start_delay(63, 64) < MAX_STAGGER_SECONDS  # 64 slots: not 63 x 50 ms


def test_a_best_ref_that_cannot_move_stops_the_run(toy_dir, tmp_path, monkeypatch):
    """refs/heads/best moves off the critical path; its failure still ends the run."""
    def refuse(self, sha, *, checkout=True):
        raise WorkspaceError("cannot move refs/heads/best: no space left on device")

    create_run(Problem.load(toy_dir), RunSettings.build(problem="toy", iterations=3, width=2),
               tmp_path / "run")
    monkeypatch.setattr(RunRepository, "set_best", refuse)
    with pytest.raises(WorkspaceError, match="no space left on device"):
        execute(tmp_path / "run")
    assert len(history(tmp_path / "run")) > 1  # it failed after a candidate found a better best


class AsyncPlanner:
    """A planner with only a usable async method: the run awaits it on its event loop."""

    def __init__(self, inner) -> None:
        self.inner, self.model_name, self.awaited = inner, inner.model_name, 0

    def plan(self, request):
        raise AssertionError("the run called the blocking method of a role that has an async one")

    async def aplan(self, request):
        asyncio.get_running_loop()  # raises off the loop
        self.awaited += 1
        return self.inner.plan(request)


def test_a_roles_async_method_is_awaited_instead_of_its_blocking_one(toy_dir, tmp_path):
    final, planner = run_with_planner(toy_dir, tmp_path / "run", AsyncPlanner, width=2)
    assert final["stop_reason"] == "completed 2 iterations" and planner.awaited == 4
