"""The steady-state pipeline: K candidates in flight, and a history that depends on the seed
and K only, never on the order in which candidates finish."""

from __future__ import annotations

import dataclasses
import random
import threading
import time

from adrs.agents.offline import offline_team
from adrs.graph.runner import create_run, execute
from adrs.graph.settings import RunSettings
from adrs.tools.problem import Problem
from tests.graph.test_run import history


class Jittery:
    """The offline evaluator, after a seeded random pause per candidate; counts overlaps."""

    def __init__(self, inner, seed: int) -> None:
        self.inner, self.seed, self.model_name = inner, seed, inner.model_name
        self.lock = threading.Lock()
        self.running = self.most = 0

    def assess(self, request):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(random.Random(f"{self.seed}:{request.iteration}:{request.slot}").uniform(0, 0.08))
            return self.inner.assess(request)
        finally:
            with self.lock:
                self.running -= 1


def run(toy_dir, run_dir, jitter_seed: int) -> Jittery:
    team = offline_team()
    evaluator = Jittery(team.evaluator, jitter_seed)
    create_run(Problem.load(toy_dir), RunSettings.build(problem="toy", iterations=4, width=3,
                                                        seed=2), run_dir)
    final = execute(run_dir, team=dataclasses.replace(team, evaluator=evaluator))
    assert final["stop_reason"] == "completed 4 iterations" and final["iteration"] == 4
    return evaluator


def test_finish_order_does_not_change_the_history(toy_dir, tmp_path):
    first = run(toy_dir, tmp_path / "a", jitter_seed=1)
    run(toy_dir, tmp_path / "b", jitter_seed=2)
    assert history(tmp_path / "a") == history(tmp_path / "b")
    assert first.most == 3  # K candidates were evaluated at once
    assert len(history(tmp_path / "a")) == 1 + 4 * 3
