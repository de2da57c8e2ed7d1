"""The EPLB problem folder: balance (per GPU, and the public per-slot figure) and speed terms,
validation, child handling, discrimination."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from tests.problems.helpers import (
    initial_source,
    load_evaluator,
    problem_folder,
    with_constant,
    write_candidate,
)

FOLDER = problem_folder("eplb")
ev = load_evaluator("eplb")
BASELINE = str(FOLDER / "initial.py")
# One layer, three experts, four slots on two GPUs (slots 0-1 on GPU 0, 2-3 on GPU 1).
TINY = ev.Family(num_experts=3, num_replicas=4, num_groups=1, num_nodes=1, num_gpus=2,
                 num_layers=1, popularity="lognormal", skew=1.0, persistence=0.5, drift=0.1)
VALID = [[[0, 1, 0, 2]], [[[0, 2], [1, -1], [3, -1]]], [[2, 1, 1]]]


# --- balance and speed, by hand -----------------------------------------------------------------

def test_balancedness_by_hand():
    load = np.array([[4.0, 2.0, 1.0, 1.0]])
    # GPU 0 holds experts 0 and 1 (6), GPU 1 experts 2 and 3 (2): mean 4 / max 6.
    assert ev.balancedness(load, np.array([[0, 1, 2, 3]]), 2) == pytest.approx(4 / 6)
    # GPU 0 holds 0 and 2 (5), GPU 1 holds 1 and 3 (3): mean 4 / max 5.
    assert ev.balancedness(load, np.array([[0, 2, 1, 3]]), 2) == pytest.approx(0.8)


def test_replicas_split_their_expert_load_by_hand():
    # Expert 0 (load 6) on slots 0 and 2: 3 each. GPU 0 = 3 + 2, GPU 1 = 3 + 2: perfect.
    load = np.array([[6.0, 2.0, 2.0]])
    phy2log = np.array([[0, 1, 0, 2]])
    assert ev.gpu_loads(load, phy2log, 2).tolist() == [[5.0, 5.0]]
    assert ev.balancedness(load, phy2log, 2) == pytest.approx(1.0)
    # Two layers average; an idle layer counts as balanced.
    two = np.array([[6.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    assert ev.balancedness(two, np.array([[0, 0, 1, 2], [0, 1, 0, 2]]), 2) == pytest.approx(
        (5 / 6 + 1.0) / 2)  # layer 0: GPU loads 6 and 4, mean 5, max 6


def test_slot_balancedness_by_hand():
    # The public evaluator's figure: per slot, not per GPU; sums over layers, then the ratio.
    load = np.array([[6.0, 2.0, 2.0], [3.0, 3.0, 0.0]])
    phy2log = np.array([[0, 1, 0, 2], [0, 1, 2, 2]])
    # Layer 0: slots 3, 2, 3, 2 (mean 2.5, max 3). Layer 1: 3, 3, 0, 0 (mean 1.5, max 3).
    assert ev.slot_balancedness(load, phy2log) == pytest.approx((2.5 + 1.5) / (3 + 3))
    # Per GPU the first layer is perfect: the two figures differ.
    assert ev.balancedness(load[:1], phy2log[:1], 2) == pytest.approx(1.0)
    assert ev.slot_balancedness(np.zeros((1, 3)), phy2log[:1]) == 0.0


@pytest.mark.parametrize("speedup, expected", [
    (1.0, 0.5), (1.9, 0.5), (0.55, 0.5), (2.1, 0.75), (8.1, 1.0), (12.0, 1.0), (0.45, 0.25),
    (0.12, 0.0),
])
def test_the_speed_term_moves_in_steps_of_four(speedup, expected):
    assert ev.speed_term(speedup) == expected


def test_speedup_is_a_floored_geometric_mean():
    assert ev.speedup([(0.001, 0.004), (0.004, 0.001)]) == pytest.approx(1.0)
    assert ev.speedup([(1e-7, 1e-6)]) == pytest.approx(1.0)  # both under the floor


def test_the_number_of_layers_can_be_the_papers():
    assert ev.make_workload("lognormal", 1, layers=58).loads.shape == (4, 58, 256)
    assert ev.make_workload("lognormal", 1).loads.shape == (4, 12, 256)


def test_workloads_are_seeded_and_drift():
    first = ev.make_workload("zipf-hot", 3)
    assert first.name == "zipf-hot-s3"
    assert np.array_equal(first.loads, ev.make_workload("zipf-hot", 3).loads)
    assert not np.array_equal(first.loads, ev.make_workload("zipf-hot", 4).loads)
    assert first.loads.shape == (4, 12, 256)
    assert np.allclose(first.loads.sum(axis=2), 65536, rtol=0.05)
    assert not np.array_equal(first.loads[0], first.loads[1])
    cold = ev.make_workload("cold-experts", 1).loads
    assert 0.25 < (cold[0] == 0).mean() < 0.45


# --- validation ---------------------------------------------------------------------------------

def test_a_valid_placement_passes_in_any_slot_order():
    assert ev.validate_placement(TINY, VALID).tolist() == [[0, 1, 0, 2]]
    swapped = [VALID[0], [[[2, 0], [1, -1], [3, -1]]], VALID[2]]
    assert ev.validate_placement(TINY, swapped).tolist() == [[0, 1, 0, 2]]
    padded = [VALID[0], [[[0, 2, -1], [1, -1, -1], [3, -1, -1]]], VALID[2]]
    assert ev.validate_placement(TINY, padded).tolist() == [[0, 1, 0, 2]]


@pytest.mark.parametrize("answer, reason", [
    ({"balancedness": 1.0}, "expected the triple"),
    (VALID + [{"balancedness": 1.0}], "expected the triple"),
    ([[[0, 1, 0]], VALID[1], VALID[2]], "phy2log must have shape (1, 4)"),
    ([[[0.0, 1.0, 0.0, 2.0]], VALID[1], VALID[2]], "phy2log must hold integers"),
    ([[[True, False, True, False]], VALID[1], VALID[2]], "phy2log must hold integers"),
    ([[[0, 1], [0]], VALID[1], VALID[2]], "not a rectangular array"),
    ([[[0, 1, 0, 3]], VALID[1], VALID[2]], "outside 0..2"),
    ([[[0, 1, 1, 1]], [[[0, -1, -1], [1, 2, 3], [-1, -1, -1]]], [[1, 3, 0]]],
     "expert 2 has no replica"),
    ([VALID[0], VALID[1], [[1, 2, 1]]], "logcnt says expert 0 has 1 replicas"),
    ([VALID[0], VALID[1], [[2, 1]]], "logcnt must have shape (1, 3)"),
    ([VALID[0], [[[0], [1], [3]]], VALID[2]], "log2phy must have shape (1, 3, >= 2)"),
    ([VALID[0], [[[0, -1], [1, 2], [3, -1]]], VALID[2]], "then -1 padding"),
    ([VALID[0], [[[0, 1], [2, -1], [3, -1]]], VALID[2]], "another expert"),
    ([VALID[0], [[[0, 0], [1, -1], [3, -1]]], VALID[2]], "a slot twice"),
    ([VALID[0], [[[0, 9], [1, -1], [3, -1]]], VALID[2]], "slot id outside -1..3"),
])
def test_invalid_placements_are_rejected(answer, reason):
    with pytest.raises(ev.InvalidAnswer) as caught:
        ev.validate_placement(TINY, answer)
    assert reason in str(caught.value)


def test_claimed_scores_are_ignored(tmp_path):
    program = write_candidate(tmp_path, (
        "def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):\n"
        "    print('balancedness 1.0')\n"
        "    return {'balancedness': 1.0, 'combined_score': 1.0}\n"), "claims.py")
    result = ev.evaluate(program, workloads=["no-spare-s1"])
    assert result["combined_score"] == 0.0
    assert "no-spare-s1/w0" in result["error"] and "expected the triple" in result["error"]


def test_crash_timeout_and_bad_import_score_zero(tmp_path):
    crash = write_candidate(tmp_path, "def rebalance_experts(*args):\n"
                                      "    raise ValueError('out of experts')\n", "crash.py")
    result = ev.evaluate(crash, workloads=["no-spare-s1"])
    assert result["combined_score"] == 0.0
    # The unscored warm-up input is solved first, so that is where the crash shows.
    assert "warm-up input" in result["error"] and "ValueError: out of experts" in result["error"]

    bad_import = write_candidate(tmp_path, "import no_such_module_here\n", "bad_import.py")
    assert "import failed" in ev.evaluate(bad_import, workloads=["no-spare-s1"])["error"]

    slow = write_candidate(tmp_path, "def rebalance_experts(*args):\n"
                                    "    while True:\n        pass\n", "slow.py")
    result = ev.score_program(slow, [ev.make_workload("no-spare", 1)], timeout_seconds=1.0)
    assert result["combined_score"] == 0.0 and "timed out after 1 s" in result["error"]


def test_unknown_workload_names_are_listed():
    result = ev.evaluate(BASELINE, workloads=["lognormal-s9"])
    assert result["combined_score"] == 0.0
    assert "lognormal-s9" in result["error"] and "zipf-hot-s1" in result["error"]


# --- the evaluator discriminates ----------------------------------------------------------------

ROUND_ROBIN = """
import numpy as np

def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    num_layers, num_experts = np.shape(weight)
    phy2log = np.tile(np.arange(num_replicas) % num_experts, (num_layers, 1))
    logcnt = np.stack([np.bincount(row, minlength=num_experts) for row in phy2log])
    log2phy = np.full((num_layers, num_experts, logcnt.max()), -1)
    for layer in range(num_layers):
        for slot, expert in enumerate(phy2log[layer]):
            log2phy[layer, expert, np.argmax(log2phy[layer, expert] < 0)] = slot
    return phy2log, log2phy, logcnt
"""

# Vectorised over layers: spare slots to the hottest expert per replica, then the replicas,
# heaviest first, dealt to GPUs in a zig-zag (0..G-1, G-1..0, ...) with no packing loop.
SERPENTINE = """
import numpy as np

def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    weight = np.asarray(weight, dtype=np.float64)
    num_layers, num_experts = weight.shape
    rows = np.arange(num_layers)
    counts = np.ones((num_layers, num_experts), dtype=np.int64)
    for _ in range(num_replicas - num_experts):
        counts[rows, np.argmax(weight / counts, axis=1)] += 1
    expert = np.repeat(np.tile(np.arange(num_experts), num_layers), counts.ravel())
    expert = expert.reshape(num_layers, num_replicas)
    share = np.take_along_axis(weight / counts, expert, axis=1)
    ranked = np.take_along_axis(expert, np.argsort(-share, axis=1, kind="stable"), axis=1)
    lap, position = np.divmod(np.arange(num_replicas), num_gpus)
    gpu = np.where(lap % 2 == 0, position, num_gpus - 1 - position)
    phy2log = np.empty_like(ranked)
    phy2log[:, gpu * (num_replicas // num_gpus) + lap] = ranked
    by_expert = np.argsort(phy2log, axis=1, kind="stable")
    sorted_expert = np.take_along_axis(phy2log, by_expert, axis=1)
    first = np.cumsum(counts, axis=1) - counts
    rank = np.arange(num_replicas) - np.take_along_axis(first, sorted_expert, axis=1)
    log2phy = np.full((num_layers, num_experts, counts.max()), -1, dtype=np.int64)
    log2phy[np.repeat(rows, num_replicas), sorted_expert.ravel(), rank.ravel()] = by_expert.ravel()
    return phy2log, log2phy, counts
"""


def test_baseline_sits_between_a_worse_and_a_better_policy(tmp_path):
    baseline = ev.evaluate(BASELINE)
    worse = ev.evaluate(write_candidate(tmp_path, ROUND_ROBIN, "round_robin.py"))
    better = ev.evaluate(write_candidate(tmp_path, SERPENTINE, "serpentine.py"))
    for result in (baseline, worse, better):
        assert "error" not in result, result.get("error")
    print(f"baseline {baseline['combined_score']:.4f} (balance {baseline['balancedness']:.4f}, "
          f"{baseline['runtime_ms']:.2f} ms); serpentine {better['combined_score']:.4f} "
          f"(balance {better['balancedness']:.4f}, {better['runtime_ms']:.2f} ms, "
          f"{better['speedup_vs_baseline']:.1f}x); round robin {worse['combined_score']:.4f}")
    assert baseline["balancedness"] == pytest.approx(baseline["baseline_balancedness"])
    assert worse["balancedness"] < baseline["balancedness"] - 0.2
    assert worse["combined_score"] < baseline["combined_score"] - 0.1
    # The zig-zag keeps the balance (here it even gains, being free of the node hierarchy) and
    # is many times faster; balance alone already puts it ahead, whatever the timing noise.
    assert better["balancedness"] > baseline["balancedness"]
    assert better["speedup_vs_baseline"] > 3.0
    assert better["combined_score"] > baseline["combined_score"] + 0.02
    assert "vs baseline" in baseline["artifacts"]["worst_workloads"]


def test_tuning_the_replica_exponent_moves_the_balance_on_train_and_heldout(tmp_path):
    source = initial_source("eplb")
    spread = write_candidate(tmp_path, with_constant(source, "REPLICA_SHARE_EXPONENT", "1.5"),
                             "replica_share_exponent_1.5.py")
    pile = write_candidate(tmp_path, with_constant(source, "REPLICA_SHARE_EXPONENT", "0.5"),
                           "replica_share_exponent_0.5.py")
    for run in (ev.evaluate, ev.evaluate_heldout):
        base, up, down = (run(path)["balancedness"] for path in (BASELINE, spread, pile))
        print(f"{run.__name__}: balancedness baseline {base:.4f}, exponent 1.5 {up:.4f}, "
              f"0.5 {down:.4f}")
        assert up > base + 0.005
        assert down < base


def test_scores_repeat_and_timing_metrics_are_declared():
    first = ev.evaluate(BASELINE, workloads=["drifting-s1", "cold-experts-s1"])
    second = ev.evaluate(BASELINE, workloads=["drifting-s1", "cold-experts-s1"])
    timing = tomllib.loads((FOLDER / "problem.toml").read_text())["timing_metrics"]
    assert set(timing) == {"speedup_vs_baseline", "runtime_ms"} and set(timing) <= set(first)
    steady = {k: v for k, v in first.items() if k not in timing and k != "timings"}
    assert steady == {k: v for k, v in second.items() if k not in timing and k != "timings"}
    assert set(first["per_workload"]) == {"drifting-s1", "cold-experts-s1"}
    assert first["slot_balancedness"] == first["baseline_slot_balancedness"]
    assert first["slot_balancedness"] < first["balancedness"]  # slots are harder to even out
