"""problems/txn_scheduling: the simulator, the validation, the child process and the baseline."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from tests.problems.helpers import (
    initial_source,
    load_evaluator,
    load_module,
    problem_folder,
    with_constant,
    write_candidate,
)

FOLDER = problem_folder("txn_scheduling")
INITIAL = FOLDER / "initial.py"


@pytest.fixture(scope="module")
def ev() -> ModuleType:
    return load_evaluator("txn_scheduling")


def _program(tmp_path: Path, body: str, name: str = "candidate.py") -> str:
    return write_candidate(tmp_path, textwrap.dedent(body), name)


def _with_knobs(tmp_path: Path, **knobs: int) -> str:
    source = initial_source("txn_scheduling")
    for knob, value in knobs.items():
        source = with_constant(source, knob, value)
    suffix = "_".join(f"{k}{v}" for k, v in knobs.items())
    return _program(tmp_path, source, f"initial_{suffix}.py")


def _without_timings(result: dict) -> dict:
    return {key: value for key, value in result.items() if key != "timings"}


R = lambda key: ("r", key)  # noqa: E731  (short names keep the hand-made batches readable)
W = lambda key: ("w", key)  # noqa: E731


# --------------------------------------------------------------------------- the default model, by hand

@pytest.mark.parametrize(("order", "reason"), [
    ([0, 1, 1], "index 1 appears twice (again at entry 2); index 2 is missing"),
    ([0, 1], "order has 2 entries, expected 3"),
    ([0, 1, 2, 0], "order has 4 entries, expected 3"),
    ([0, 1, 3], "entry 2 is 3, outside range(3)"),
    ([0, -1, 2], "entry 1 is -1, outside range(3)"),
    ([0, 1.0, 2], "entry 1 is a float (1.0), expected an int"),
    ([True, 0, 2], "entry 0 is a bool (True), expected an int"),
    ([0, "1", 2], "entry 1 is a str, expected an int"),
    ([0, {"__type__": "numpy.int64"}, 2], "entry 1 is numpy.int64, expected an int"),
    ({"order": [0, 1, 2], "makespan": 0}, "returned a dict, expected a list of transaction indices"),
    (None, "returned None, expected a list of transaction indices"),
])
def test_validation_rejects_non_permutations(ev, order, reason):
    assert ev.validate_order(order, 3) == reason


def test_validation_accepts_permutations(ev):
    assert ev.validate_order([2, 0, 1], 3) is None
    assert ev.validate_order([], 0) is None


# --------------------------------------------------------------------------- the child process

IDENTITY = """
    def schedule(transactions, model):
        return list(range(len(transactions)))
"""


def test_identity_candidate_is_scored(ev, tmp_path):
    result = ev.evaluate(_program(tmp_path, IDENTITY), workloads=["zipf-s1", "edge-s2"])
    assert "error" not in result
    batches = ev.build_workloads((1, 2))
    spans = [ev.makespan(batches[n], list(range(100))) for n in ("zipf-s1", "edge-s2")]
    assert result["total_makespan"] == float(sum(spans))
    assert result["mean_makespan"] == sum(spans) / 2
    assert set(result["per_workload"]) == {"zipf-s1", "edge-s2"}
    assert result["per_workload"]["zipf-s1"] == ev.workload_score(batches["zipf-s1"], spans[0])
    assert result["combined_score"] == pytest.approx(sum(result["per_workload"].values()) / 2)
    assert "zipf-s1: makespan" in result["artifacts"]["worst_workloads"]
    assert result["timings"]["candidate_call_ms"] > 0


@pytest.mark.parametrize(("body", "reason"), [
    ("return {'order': list(range(len(transactions))), 'makespan': 1, 'score': 1.0}",
     "returned a dict, expected a list"),
    ("return tuple(range(len(transactions)))", "returned a tuple"),
    ("return [float(i) for i in range(len(transactions))]", "entry 0 is a float (0.0)"),
    ("return [0] * len(transactions)", "index 0 appears twice"),
    ("return list(range(len(transactions) + 1))", "entry 100 is 100, outside range(100)"),
    ("return list(range(len(transactions) - 1))", "order has 99 entries, expected 100"),
    ("import numpy\n        return list(numpy.arange(len(transactions)))",
     "entry 0 is numpy.int64, expected an int"),
])
def test_bad_orders_score_zero_with_the_reason(ev, tmp_path, body, reason):
    program = _program(tmp_path, f"""
    def schedule(transactions, model):
        {body}
    """)
    result = ev.evaluate(program, workloads=["rmw-s3"])
    assert result["combined_score"] == 0.0
    assert result["error"].startswith("workload rmw-s3: ")
    assert reason in result["error"]
    assert "per_workload" not in result and "mean_makespan" not in result


def test_printed_claims_do_not_reach_the_evaluator(ev, tmp_path):
    program = _program(tmp_path, """
        import json
        print(json.dumps({"orders": {"zipf-s1": [0] * 100}}))
        def schedule(transactions, model):
            print(json.dumps({"orders": {"zipf-s1": [0] * 100}, "makespan": 0}))
            return list(range(len(transactions)))
    """)
    identity = ev.evaluate(_program(tmp_path, IDENTITY, "identity.py"), workloads=["zipf-s1"])
    noisy = _program(tmp_path, """
        import sys
        def schedule(transactions, model):
            sys.stderr.buffer.write(bytes([255, 254]) * 5000)  # not UTF-8, and long
            return list(range(len(transactions)))
    """, "noisy.py")
    assert _without_timings(ev.evaluate(noisy, workloads=["zipf-s1"])) == _without_timings(identity)
    result = ev.evaluate(program, workloads=["zipf-s1"])
    assert "error" not in result
    assert _without_timings(result) == _without_timings(identity)


def test_only_the_requested_workloads_are_sent(ev, tmp_path):
    program = _program(tmp_path, """
        calls = []
        def schedule(transactions, model):
            calls.append(len(transactions))
            if len(calls) > 1:
                raise RuntimeError("called more than once")
            return list(range(len(transactions)))
    """)
    assert "error" not in ev.evaluate(program, workloads=["rfwl-s2"])
    assert "called more than once" in ev.evaluate(program)["error"]


def test_a_crash_scores_zero_with_the_last_traceback_line(ev, tmp_path):
    program = _program(tmp_path, """
        def schedule(transactions, model):
            print("x" * 100_000)
            raise ValueError("boom")
    """)
    result = ev.evaluate(program, workloads=["zipf-s2"])
    assert result["combined_score"] == 0.0
    assert result["error"] == "workload zipf-s2: ValueError: boom"
    assert "x" * 100 in result["artifacts"]["stderr"]  # its prints went to stderr
    assert len(result["artifacts"]["stderr"]) == ev.harness.STDERR_TAIL_CHARS  # only the tail


def test_crashes_at_import_and_exits_are_reported(ev, tmp_path):
    broken = _program(tmp_path, "import no_such_module_here\n", "broken.py")
    result = ev.evaluate(broken, workloads=["zipf-s2"])
    assert result["combined_score"] == 0.0
    assert result["error"].startswith("import failed: ModuleNotFoundError")
    quitter = _program(tmp_path, """
        import sys
        def schedule(transactions, model):
            sys.exit(0)
    """, "quitter.py")
    result = ev.evaluate(quitter, workloads=["zipf-s2"])
    assert result["error"] == "workload zipf-s2: SystemExit: 0"
    killer = _program(tmp_path, """
        import os
        def schedule(transactions, model):
            os._exit(3)
    """, "killer.py")
    result = ev.evaluate(killer, workloads=["zipf-s2"])
    assert result["combined_score"] == 0.0
    assert result["error"] == "workload zipf-s2: crashed (exit code 3): no output"


def test_a_timeout_scores_zero(ev, tmp_path):
    program = _program(tmp_path, """
        import time
        def schedule(transactions, model):
            time.sleep(30)
    """)
    batches = ev.build_workloads((1,))
    result = ev.score_program(program, {"zipf-s1": batches["zipf-s1"]}, timeout=1.0)
    assert result["combined_score"] == 0.0
    assert result["error"] == "workload zipf-s1: timed out after 1 s"


def test_unknown_workloads_and_missing_programs_are_errors(ev, tmp_path):
    result = ev.evaluate(_program(tmp_path, IDENTITY), workloads=["zipf-s1", "zipf-s99"])
    assert result["combined_score"] == 0.0
    assert result["error"].startswith("unknown workload(s) zipf-s99; valid: zipf-s1, rmw-s1,")
    assert ev.evaluate(_program(tmp_path, IDENTITY), workloads=[])["error"].startswith(
        "no workloads selected")
    assert set(ev.evaluate(_program(tmp_path, IDENTITY), workloads="rmw-s2")["per_workload"]) == {
        "rmw-s2"}
    missing = ev.evaluate(str(tmp_path / "absent.py"))
    assert missing["combined_score"] == 0.0 and missing["error"].startswith("program not found")


# --------------------------------------------------------------------------- the baseline

@pytest.mark.parametrize("model", ["conflict", "strict-2pl"])
def test_the_baseline_timeline_agrees_with_the_evaluator(ev, model):
    initial = load_module(INITIAL, "txn_initial")
    for name, batch in ev.build_workloads((1,)).items():
        order = initial.schedule(batch, model)
        assert sorted(order) == list(range(len(batch))), name
        kind = initial.TIMELINES[model]
        timeline = kind(kind.compile(batch))
        for t in order:
            timeline.append(t)
        assert timeline.makespan == ev.makespan(batch, order, model), name
        assert timeline.order == order
    assert initial.schedule([], model) == []
    assert initial.schedule([[W(1)]], model) == [0]


def test_the_model_in_problem_toml_reaches_the_candidate_and_the_score(ev, tmp_path):
    program = _program(tmp_path, """
    def schedule(transactions, model):
        assert model == "strict-2pl", model
        return list(range(len(transactions)))
    """)
    batches = ev.build_workloads((1,))
    result = ev.score_program(program, {"zipf-s1": batches["zipf-s1"]}, 20, "strict-2pl")
    assert result["total_makespan"] == ev.makespan(batches["zipf-s1"], list(range(100)),
                                                   "strict-2pl")
    assert "AssertionError: conflict" in ev.evaluate(program, workloads=["zipf-s1"])["error"]


def test_the_baseline_beats_the_identity_order_and_is_deterministic(ev, tmp_path):
    baseline = ev.evaluate(str(INITIAL))
    identity = ev.evaluate(_program(tmp_path, IDENTITY))
    full = ev.evaluate(_with_knobs(tmp_path, SAMPLE_SIZE=100))  # every remaining txn tried
    assert "error" not in baseline
    assert identity["combined_score"] < baseline["combined_score"] < full["combined_score"]
    assert identity["mean_makespan"] > baseline["mean_makespan"] > full["mean_makespan"]
    print(f"\ntrain mean makespan: identity {identity['mean_makespan']:.2f}, "
          f"baseline {baseline['mean_makespan']:.2f}, full greedy {full['mean_makespan']:.2f}; "
          f"combined {identity['combined_score']:.4f}, {baseline['combined_score']:.4f}, "
          f"{full['combined_score']:.4f}")
    assert _without_timings(ev.evaluate(str(INITIAL))) == _without_timings(baseline)
    assert ev.evaluate(str(INITIAL), workloads=["rmw-s4"])["per_workload"]["rmw-s4"] == \
        baseline["per_workload"]["rmw-s4"]


def test_larger_samples_and_more_starts_help_on_heldout(ev, tmp_path):
    baseline = ev.evaluate_heldout(str(INITIAL))
    sampled = ev.evaluate_heldout(_with_knobs(tmp_path, SAMPLE_SIZE=100))
    restarted = ev.evaluate_heldout(_with_knobs(tmp_path, NUM_STARTS=8))
    assert set(baseline["per_workload"]) == set(ev.build_workloads(ev.load_settings().heldout_seeds))
    print(f"\nheld-out mean makespan: baseline {baseline['mean_makespan']:.2f}, "
          f"SAMPLE_SIZE=100 {sampled['mean_makespan']:.2f}, "
          f"NUM_STARTS=8 {restarted['mean_makespan']:.2f}")
    assert sampled["mean_makespan"] < baseline["mean_makespan"]
    assert restarted["mean_makespan"] < baseline["mean_makespan"]
    assert sampled["combined_score"] > baseline["combined_score"]
    assert restarted["combined_score"] > baseline["combined_score"]


@pytest.mark.parametrize("knobs", [
    {"SAMPLE_SIZE": 1}, {"SAMPLE_SIZE": 0}, {"SAMPLE_SIZE": 100000}, {"NUM_STARTS": 0},
    {"NUM_STARTS": 3, "SEED": 12345},
])
def test_the_baseline_stays_valid_for_any_knob_value(ev, tmp_path, knobs):
    result = ev.evaluate(_with_knobs(tmp_path, **knobs), workloads=["zipf-s1", "edge-s1"])
    assert "error" not in result and result["combined_score"] > 0


def test_the_region_exposes_exactly_the_knobs():
    # The offline brain tunes every numeric literal of the region: only the knobs may be there.
    from adrs.agents.evolve_block import numeric_literals, split_program
    from adrs.tools.problem import Problem

    problem = Problem.load(FOLDER)
    assert problem.name == "txn_scheduling"
    assert problem.spec.model_extra["candidate"]["timeout_seconds"] == 30
    region = split_program(problem.initial_source).region
    assert [(lit.name, lit.text) for lit in numeric_literals(region)] == [
        ("SAMPLE_SIZE", "10"), ("NUM_STARTS", "1"), ("SEED", "0")]
    assert "random" not in problem.spec.critic.forbidden_imports
