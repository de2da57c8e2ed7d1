"""Wall-time metrics are reported but kept out of the history, so one seed gives one history;
an evaluator that scores the baseline two ways is flagged by `adrs check` and at a run's start."""

from __future__ import annotations

import textwrap
from pathlib import Path

from adrs.workspace.repository import RunRepository
from tests.peers.helpers import adrs

EVALUATOR = """
import runpy
import time

def evaluate(program_path):
    started = time.perf_counter()
    x = runpy.run_path(program_path)["X"]
    return {"combined_score": 1.0 / (1.0 + (x - 7) ** 2), "x": float(x),
            "sim_ms": (time.perf_counter() - started) * 1000 + time.time_ns() % 997}
"""


def folder(root: Path, toml: str) -> Path:
    made = root / "timed"
    made.mkdir()
    (made / "README.md").write_text("Move X to 7.\n")
    (made / "initial.py").write_text("# EVOLVE-BLOCK-START\nX = 2\n# EVOLVE-BLOCK-END\n")
    (made / "evaluator.py").write_text(EVALUATOR)
    (made / "problem.toml").write_text(textwrap.dedent(toml))
    return made


def history(run_dir: Path) -> list[tuple]:
    with RunRepository.open(run_dir) as repo:
        records = repo.records()
        keys = {r.id: r.key for r in records}
        return [(r.key, keys.get(r.parent_id), repo.program_source(r.id), r.message.to_text())
                for r in records]


def test_timing_metrics_are_reported_and_kept_out_of_the_history(tmp_path):
    problem = folder(tmp_path, 'name = "timed"\ntiming_metrics = ["sim_ms"]\n')
    outputs = []
    for name in ("a", "b"):
        code, out = adrs("run", problem, "--iterations", 3, "--seed", 4, "--run-dir", tmp_path / name)
        assert code == 0, out
        outputs.append(out)
    assert history(tmp_path / "a") == history(tmp_path / "b")
    assert all("sim_ms" not in text for *_, text in history(tmp_path / "a"))
    assert "sim_ms=" in outputs[0]  # shown live with each candidate
    assert "scored differently" not in outputs[0]
    code, out = adrs("check", problem)
    assert code == 0 and "deterministic: the same figures on two evaluations" in out
    assert "timings: sim_ms=" in out


def test_a_baseline_that_scores_two_ways_is_flagged(tmp_path):
    problem = folder(tmp_path, 'name = "timed"\n')  # sim_ms not declared: it is a figure
    code, out = adrs("check", problem)
    text = " ".join(out.split())
    assert code == 0, out
    assert "warning: the baseline of timed scored differently on two evaluations (metric sim_ms" in text
    assert "list wall-time metrics in problem.toml's timing_metrics" in text
    assert "one evaluation: " in text
    code, out = adrs("run", problem, "--iterations", 1, "--run-dir", tmp_path / "r")
    assert code == 0 and "scored differently on two evaluations" in " ".join(out.split())
