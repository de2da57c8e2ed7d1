"""Results as the peers return them (tools/results.py) and cascades (tools/cascade.py), alone
and through the real evaluation tool."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from adrs.tools import cascade, results
from adrs.tools.evaluation import EvaluationTool
from adrs.tools.problem import Problem


def test_an_object_with_metrics_and_artifacts_is_one_dict():
    value = SimpleNamespace(metrics={"combined_score": 0.5, "cost": 2}, artifacts={"log": b"ok\xff"})
    assert results.flatten(value) == {"combined_score": 0.5, "cost": 2, "artifacts": {"log": "ok\ufffd"}}
    assert results.flatten([1, 2]) == [1, 2]  # left for the caller to refuse


def test_normalize_keeps_figures_and_turns_the_rest_into_text():
    got = results.normalize({"combined_score": 1, "hits": [1, 2], "mode": "lru", "ok": True,
                             "error": 0.0, "wall": 1.5, "timings": {"sim": 0.2}},
                            timing_metrics=("wall",))
    assert got["combined_score"] == 1.0 and got["error"] is None
    assert got["metrics"] == {"ok": 1.0, "error": 0.0}
    assert got["timings"] == {"sim": 0.2, "wall": 1.5}
    assert got["artifacts"] == {"hits": "[1, 2]", "mode": "lru"}


@pytest.mark.parametrize("value, error", [
    ({"combined_score": 0.0, "error": "no trace"}, "no trace"),
    ({"combined_score": "high"}, "combined_score is not a finite number: 'high'"),
    ({"note": "x"}, "evaluate returned no combined_score and no numeric metric"),
])
def test_normalize_names_what_makes_a_result_invalid(value, error):
    assert results.normalize(value)["error"] == error


def test_the_mean_of_numeric_metrics_stands_in_for_combined_score():
    got = results.normalize({"a": 1.0, "b": 3, "flag": True, "error": 0.5})
    assert got["combined_score"] == 2.0
    assert "mean of its numeric metrics (a, b)" in got["score_note"]
    assert results.score_of({"a": 1.0, "b": 3}) == 2.0 and results.score_of({"x": "y"}) is None


class Stages:
    """A stand-in module with three stages that record being called."""

    def __init__(self, first: float) -> None:
        self.called: list[str] = []
        self.first = first

    def _stage(self, name, value):
        def run(path):
            self.called.append(name)
            return {"combined_score": value, name: 1.0, "artifacts": {name: "ran"}}
        return run

    def __getattr__(self, name):
        values = {"evaluate_stage1": self.first, "evaluate_stage2": 0.7, "evaluate_stage3": 0.9}
        if name in values:
            return self._stage(name, values[name])
        raise AttributeError(name)


def run_stages(module, thresholds):
    return cascade.run(module, "p.py", thresholds, flatten=results.flatten,
                       score_of=results.score_of)


def test_the_cascade_stops_below_a_threshold_and_merges_what_ran():
    low = Stages(first=0.2)
    merged = run_stages(low, [0.5, 0.8])
    assert low.called == ["evaluate_stage1"]
    assert merged["artifacts"]["cascade"] == ("ran evaluate_stage1; stopped after "
                                              "evaluate_stage1: 0.2 < threshold 0.5")
    high = Stages(first=0.6)
    merged = run_stages(high, [0.5, 0.8])
    assert high.called == ["evaluate_stage1", "evaluate_stage2"]  # 0.7 < 0.8
    assert merged["combined_score"] == 0.7 and merged["evaluate_stage1"] == 1.0
    every = Stages(first=0.6)
    assert run_stages(every, [])["combined_score"] == 0.9  # no thresholds: all stages run
    assert cascade.wanted(every, "evaluate", {}, None)
    assert not cascade.wanted(every, "evaluate", {}, False)
    assert not cascade.wanted(every, "evaluate", {"workloads": ["a"]}, None)
    assert not cascade.wanted(every, "evaluate_heldout", {}, None)


def peer_problem(root: Path, evaluator: str, config: str = "") -> Problem:
    folder = root / "peer"
    folder.mkdir()
    (folder / "initial_program.py").write_text("# EVOLVE-BLOCK-START\nVALUE = 0.25\n"
                                               "# EVOLVE-BLOCK-END\n")
    (folder / "evaluator.py").write_text(textwrap.dedent(evaluator))
    if config:
        (folder / "config.yaml").write_text(textwrap.dedent(config))
    return Problem.load(folder)


def test_a_cascade_stops_early_inside_the_sandbox(tmp_path):
    problem = peer_problem(tmp_path, """
        import runpy
        def evaluate_stage1(path):
            return {"combined_score": runpy.run_path(path)["VALUE"]}
        def evaluate_stage2(path):
            raise RuntimeError("stage 2 must not run for this program")
    """, config="evaluator:\n  cascade_thresholds: [0.5]\n")
    tool = EvaluationTool(problem, scratch_root=tmp_path / "scratch")
    result = tool.evaluate(problem.initial_source)
    assert result.ok and result.combined_score == 0.25
    assert "stopped after evaluate_stage1" in result.artifacts["cascade"]
    crashed = tool.evaluate(problem.initial_source.replace("0.25", "0.75"))
    assert crashed.summary_line().startswith("crash: evaluate raised: RuntimeError: stage 2")


def test_an_evaluator_that_needs_a_missing_module_is_told_which(tmp_path):
    problem = peer_problem(tmp_path, """
        import json
        import adrs_missing_one
        from adrs_missing_two.sub import thing
        try:
            import adrs_optional
        except ImportError:
            adrs_optional = None
        def evaluate(path):
            return {"combined_score": 1.0}
    """)
    result = EvaluationTool(problem, scratch_root=tmp_path / "s").evaluate(problem.initial_source)
    assert result.summary_line().startswith(
        "crash: the evaluator needs adrs_missing_one, adrs_missing_two, which its Python does not "
        "have: declare the packages in a requirements.txt")


def test_figures_nested_under_metrics_are_read_too():
    flat = results.flatten({"metrics": {"combined_score": 0.5, "cost": 3.0}, "artifacts": {"a": "b"}})
    assert flat == {"combined_score": 0.5, "cost": 3.0, "artifacts": {"a": "b"}}
    kept = {"combined_score": 1.0, "metrics": {"x": 1}}  # a top-level score: "metrics" is data
    assert results.flatten(kept) == kept
