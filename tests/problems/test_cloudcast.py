"""The Cloudcast problem folder: cost model, validation, child-process handling, discrimination."""

from __future__ import annotations

import pytest

from tests.problems.helpers import (initial_source, load_evaluator, problem_folder, with_constant,
                                    write_candidate)

FOLDER = problem_folder("cloudcast")
ev = load_evaluator("cloudcast")


def _tiny_workload():
    """Three regions; 0 -> 1 and 0 -> 2 cost $0.10/GB at 2 Gbps, 1 -> 2 costs $0.02/GB at 4 Gbps,
    every other edge $0.50/GB at 1 Gbps. VMs: 4 Gbps out, 8 Gbps in, $3.60 per hour."""
    regions = [{"name": f"r{i}", "provider": "aws", "continent": "na", "egress_gbps": 4.0,
                "ingress_gbps": 8.0, "vm_usd_per_hour": 3.6} for i in range(3)]
    special = {(0, 1): (0.1, 2.0), (0, 2): (0.1, 2.0), (1, 2): (0.02, 4.0)}
    edges = [{"src": u, "dst": v, "usd_per_gb": special.get((u, v), (0.5, 1.0))[0],
              "gbps": special.get((u, v), (0.5, 1.0))[1]}
             for u in range(3) for v in range(3) if u != v]
    return ev.Workload("tiny", {"regions": regions, "edges": edges}, 0, (1, 2), 2, 10.0)


# --- the cost model, by hand -------------------------------------------------------------------

def test_separate_paths_cost_by_hand():
    # 10 GB on each of 0->1 and 0->2: egress 2 x 10 x 0.10 = $2.00. Bottleneck: 80 Gb over a
    # 2 Gbps edge, and 160 Gb out of the source at 4 Gbps: both 40 s. VMs: 3 x $0.001/s x 40 s.
    cost = ev.transfer_cost(_tiny_workload(), [[(0, 1), (0, 2)], [(0, 1), (0, 2)]])
    assert cost.egress_usd == pytest.approx(2.0)
    assert cost.seconds == pytest.approx(40.0)
    assert cost.vm_usd == pytest.approx(0.12)
    assert cost.total_usd == pytest.approx(2.12)
    assert cost.regions_used == 3


def test_shared_tree_is_cheaper_by_hand():
    # 0->1->2: egress 10 x 0.10 + 10 x 0.02 = $1.20; 0->1 carries 80 Gb at 2 Gbps = 40 s.
    cost = ev.transfer_cost(_tiny_workload(), [[(0, 1), (1, 2)], [(0, 1), (1, 2)]])
    assert cost.egress_usd == pytest.approx(1.2)
    assert cost.seconds == pytest.approx(40.0)
    assert cost.total_usd == pytest.approx(1.32)


def test_split_partitions_halve_the_flow_by_hand():
    # Partition 0 (5 GB) on 0->1->2, partition 1 on 0->2->1 (the dear 2->1: 5 x 0.50).
    # Egress 0.5 + 0.1 + 0.5 + 2.5 = $3.60; 2->1 moves 40 Gb at 1 Gbps = 40 s.
    cost = ev.transfer_cost(_tiny_workload(), [[(0, 1), (1, 2)], [(0, 2), (2, 1)]])
    assert cost.egress_usd == pytest.approx(3.6)
    assert cost.seconds == pytest.approx(40.0)


def test_lower_bound_by_hand():
    # Egress: max(farthest cheapest path 0.10, sum of cheapest in-edges 0.10 + 0.02) x 10 GB = 1.2.
    # Time: the source sends 80 Gb at 4 Gbps = 20 s; VMs 3 x $0.001/s x 20 s = $0.06.
    assert ev.lower_bound_usd(_tiny_workload()) == pytest.approx(1.26)


def test_workloads_are_seeded_and_named():
    first = ev.make_workloads([7])
    again = ev.make_workloads([7])
    assert [w.name for w in first] == [f"{family}-s7" for family in ev.FAMILIES]
    assert first[0].network == again[0].network and first[0].destinations == again[0].destinations
    assert ev.make_workloads([8])[0].network != first[0].network
    assert len(first[0].network["regions"]) == 30 and len(first[0].network["edges"]) == 870


# --- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("answer, reason", [
    ({"score": 1.0}, "expected a list of 2 edge lists"),
    ([[[0, 1], [1, 2]]], "expected 2 partitions, got 1"),
    ([[[0, 1], [1, 2]], "edges"], "partition 1: expected a list"),
    ([[[0, 1], [1, 2]], [[0, 1], [1, 1]]], "edge [1, 1] is not in the graph"),
    ([[[0, 1], [1, 2]], [[0, 1], [0, 1], [1, 2]]], "edge [0, 1] listed twice"),
    ([[[0, 1], [1, 2]], [[0, 1]]], "destinations [2] are not reached"),
    ([[[0, 1], [1, 2]], [[0, 1], [2, 1]]], "destinations [2] are not reached"),
    ([[[0, 1], [1, 2]], [[0, 1.0], [1, 2]]], "pair of int region ids"),
    ([[[0, 1], [1, 2]], [[True, 1], [1, 2]]], "pair of int region ids"),
    ([[[0, 1], [1, 2]], [[0, 1, 2]]], "pair of int region ids"),
])
def test_invalid_plans_are_rejected(answer, reason):
    with pytest.raises(ev.InvalidAnswer) as caught:
        ev.validate_plan(_tiny_workload(), answer)
    assert reason in str(caught.value)


def test_claimed_score_is_ignored_and_prints_are_harmless(tmp_path):
    program = write_candidate(tmp_path, (
        "def plan_broadcast(network, source, destinations, num_partitions, data_gb):\n"
        "    print('{\"combined_score\": 1.0}')\n"
        "    return {'combined_score': 1.0, 'cost': 0.0}\n"), "claims.py")
    result = ev.evaluate(program, workloads=["single-dest-s1"])
    assert result["combined_score"] == 0.0
    assert "single-dest-s1" in result["error"] and "expected a list" in result["error"]

    printer = write_candidate(tmp_path, (FOLDER / "initial.py").read_text().replace(
        "    chosen: set", "    print('noise')\n    chosen: set"), "printer.py")
    assert ev.evaluate(printer, workloads=["single-dest-s1"])["combined_score"] == pytest.approx(
        ev.evaluate(str(FOLDER / "initial.py"), workloads=["single-dest-s1"])["combined_score"])


def test_crash_and_timeout_score_zero(tmp_path):
    crash = write_candidate(tmp_path, "def plan_broadcast(*args, **kwargs):\n"
                                      "    raise KeyError('no such region')\n", "crash.py")
    result = ev.evaluate(crash, workloads=["intra-aws-s1"])
    assert result["combined_score"] == 0.0
    assert "intra-aws-s1" in result["error"] and "KeyError" in result["error"]

    bad_import = write_candidate(tmp_path, "import no_such_module_here\n", "bad_import.py")
    assert "import failed" in ev.evaluate(bad_import)["error"]

    slow = write_candidate(tmp_path, "def plan_broadcast(*args, **kwargs):\n"
                                    "    while True:\n        pass\n", "slow.py")
    result = ev.score_program(slow, ev.make_workloads([1])[:1], timeout_seconds=1.0)
    assert result["combined_score"] == 0.0 and "timed out after 1 s" in result["error"]


def test_unknown_workload_names_are_listed():
    result = ev.evaluate(str(FOLDER / "initial.py"), workloads=["nope"])
    assert result["combined_score"] == 0.0
    assert "nope" in result["error"] and "wide-12-s1" in result["error"]


# --- the evaluator discriminates ----------------------------------------------------------------

DIRECT = """
def plan_broadcast(network, source, destinations, num_partitions, data_gb):
    return [[(source, d) for d in destinations] for _ in range(num_partitions)]
"""

# Takahashi-Matsuyama: grow one tree, always attaching the destination nearest to the whole tree.
STEINER = """
import heapq, math

def plan_broadcast(network, source, destinations, num_partitions, data_gb):
    n = len(network["regions"])
    adjacency = [[] for _ in range(n)]
    for e in network["edges"]:
        adjacency[e["src"]].append((e["dst"], e["usd_per_gb"]))
    tree, edges, left = {source}, set(), set(destinations)
    while left:
        dist, parent = [math.inf] * n, [-1] * n
        heap = [(0.0, t) for t in sorted(tree)]
        for t in tree:
            dist[t] = 0.0
        while heap:
            d, u = heapq.heappop(heap)
            if d > dist[u]:
                continue
            for v, w in adjacency[u]:
                if d + w < dist[v]:
                    dist[v], parent[v] = d + w, u
                    heapq.heappush(heap, (d + w, v))
        v = min(left, key=lambda x: (dist[x], x))
        while v not in tree:
            edges.add((parent[v], v))
            tree.add(v)
            v = parent[v]
        left -= tree
    return [sorted(edges) for _ in range(num_partitions)]
"""


def test_baseline_sits_between_a_worse_and_a_better_policy(tmp_path):
    baseline = ev.evaluate(str(FOLDER / "initial.py"))
    direct = ev.evaluate(write_candidate(tmp_path, DIRECT, "direct.py"))
    steiner = ev.evaluate(write_candidate(tmp_path, STEINER, "steiner.py"))
    assert "error" not in baseline and "error" not in steiner
    assert direct["combined_score"] < baseline["combined_score"] - 0.005
    assert steiner["combined_score"] > baseline["combined_score"] + 0.1
    assert steiner["cost_vs_baseline"] < 0.8 < 1.0 == pytest.approx(baseline["cost_vs_baseline"])
    assert set(baseline["per_workload"]) == {w.name for w in ev.make_workloads([1, 2])}
    assert "vs cheapest-path baseline" in baseline["artifacts"]["worst_workloads"]


def test_tuning_the_reuse_discount_improves_train_and_heldout(tmp_path):
    baseline = str(FOLDER / "initial.py")
    tuned = write_candidate(tmp_path, with_constant(initial_source("cloudcast"), "REUSE_DISCOUNT",
                                                    "0.5"), "reuse_discount.py")
    for run in (ev.evaluate, ev.evaluate_heldout):
        before, after = run(baseline)["combined_score"], run(tuned)["combined_score"]
        print(f"{run.__name__}: baseline {before:.4f}, REUSE_DISCOUNT=0.5 {after:.4f}")
        assert after > before + 0.05


def test_evaluation_is_deterministic():
    first = ev.evaluate(str(FOLDER / "initial.py"))
    second = ev.evaluate(str(FOLDER / "initial.py"))
    first.pop("timings")
    second.pop("timings")
    assert first == second
