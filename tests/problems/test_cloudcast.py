"""The Cloudcast problem folder: cost model, validation, child-process handling, discrimination."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.problems.helpers import (
    initial_source,
    load_evaluator,
    problem_folder,
    with_constant,
    write_candidate,
)

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
    assert "nope" in result["error"] and "inter-gaz-s1" in result["error"]


# --- the evaluator discriminates ----------------------------------------------------------------

# Relays everything through one region of another provider: every byte crosses providers twice.
DETOUR = """
def plan_broadcast(network, source, destinations, num_partitions, data_gb):
    regions = network["regions"]
    home = regions[source]["provider"]
    relay = next(i for i, r in enumerate(regions)
                 if r["provider"] != home and i not in destinations)
    edges = [(source, relay)] + [(relay, d) for d in destinations]
    return [list(edges) for _ in range(num_partitions)]
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
    detour = ev.evaluate(write_candidate(tmp_path, DETOUR, "detour.py"))
    steiner = ev.evaluate(write_candidate(tmp_path, STEINER, "steiner.py"))
    assert "error" not in baseline and "error" not in steiner
    assert detour["combined_score"] < baseline["combined_score"] - 0.1
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


# --- the synthetic grid has the real grid's structure -------------------------------------------

def _prices_and_speeds() -> tuple[dict, dict]:
    network = ev.make_workloads([1])[0].network
    names = [r["name"] for r in network["regions"]]
    edges = {(names[e["src"]], names[e["dst"]]): e for e in network["edges"]}
    return ({k: e["usd_per_gb"] for k, e in edges.items()},
            {k: e["gbps"] for k, e in edges.items()})


def test_prices_follow_the_public_grid_rules():
    price, _ = _prices_and_speeds()
    assert price["aws:us-east-1", "aws:ap-northeast-1"] == 0.02  # inside AWS from North America
    assert price["aws:ap-northeast-1", "aws:us-east-1"] == 0.09  # ... and from Asia
    assert price["aws:us-east-1", "gcp:us-central1"] == 0.09  # leaving AWS
    assert price["gcp:us-central1", "gcp:us-east1"] == 0.01
    assert price["gcp:us-central1", "gcp:europe-west1"] == 0.08
    assert price["gcp:us-central1", "azure:australiaeast"] == 0.19
    assert price["azure:eastus", "azure:westus2"] == 0.02
    assert price["azure:eastus", "azure:westeurope"] == 0.05
    assert price["azure:eastus", "aws:us-east-1"] == 0.0875


def test_throughput_is_bound_by_the_vm_caps_and_by_distance():
    _, gbps = _prices_and_speeds()
    assert 12 < gbps["azure:eastus", "azure:westus2"] <= 16  # Azure VMs send up to 16 Gbps
    assert 3.5 < gbps["aws:us-east-1", "aws:us-west-2"] <= 5  # AWS VMs up to 5
    assert gbps["azure:westeurope", "aws:eu-west-1"] <= 10  # AWS VMs receive up to 10
    assert 1.5 < gbps["azure:westeurope", "azure:japaneast"] <= 2.5  # far continents
    assert 4 < gbps["gcp:us-central1", "gcp:europe-west1"] <= 5.5  # neighbouring ones


def test_a_shared_tree_saves_as_much_as_on_the_real_intra_aws_configuration(tmp_path):
    # On the real grid a shared tree costs about 64% less than separate cheapest paths from
    # aws:ap-northeast-1 to six AWS regions: Asia pays $0.09/GB inside AWS, North America $0.02.
    steiner = write_candidate(tmp_path, STEINER, "steiner.py")
    result = ev.evaluate(steiner, workloads=["intra-aws-s1", "intra-aws-s2"])
    assert 0.3 < result["cost_vs_baseline"] < 0.45


# --- your own grid ($ADRS_DATA_DIR) ---------------------------------------------------------------

GRID = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "skyplane_grid"


def test_a_real_grid_replaces_the_synthetic_one(monkeypatch):
    monkeypatch.setenv("ADRS_DATA_DIR", str(GRID))
    train = ev.evaluate(str(FOLDER / "initial.py"))
    heldout = ev.evaluate_heldout(str(FOLDER / "initial.py"))
    # 7 AWS, 4 GCP and 3 Azure regions: too few for six destinations inside GCP or Azure
    assert list(train["per_workload"]) == [f"{f}-s{s}" for s in (1, 2) for f in
                                           ("intra-aws", "inter-agz", "inter-gaz", "single-dest")]
    for result in (train, heldout):
        assert result["artifacts"]["data_source"] == f"ADRS_DATA_DIR={GRID}: 14 regions, 182 edges"
    assert {w.name for w in ev.make_workloads([101, 102], ev.data_grid())} == \
        set(heldout["per_workload"])
    network = ev.make_workloads([1], ev.data_grid())[0].network
    regions = {r["name"]: r for r in network["regions"]}
    assert regions["aws:ap-northeast-1"]["continent"] == "asia"
    assert regions["gcp:europe-west1-b"]["continent"] == "eu"
    assert regions["azure:eastus"]["egress_gbps"] == 16.0
    assert 0 < train["combined_score"] < 1


def _grid_copy(tmp_path: Path) -> Path:
    data = tmp_path / "grid"
    shutil.copytree(GRID, data)
    return data


@pytest.mark.parametrize("file, edit, reason", [
    ("cost.csv", lambda t: t.replace("cost\n", "price\n", 1), "missing columns ['cost']"),
    ("throughput.csv", lambda t: t.replace(",4894946158.4,", ",fast,"),
     "line 2: throughput_sent is 'fast'; expected a positive number"),
    ("cost.csv", lambda t: t.replace(",0.02\n", ",-1\n", 1), "cost is '-1'"),
    ("cost.csv", lambda t: t.splitlines()[0] + "\n", "no pair of aws:, gcp: or azure: regions"),
])
def test_a_malformed_grid_stops_the_evaluation_and_names_the_file(tmp_path, monkeypatch, file,
                                                                   edit, reason):
    data = _grid_copy(tmp_path)
    path = data / file
    path.write_text(edit(path.read_text()))
    monkeypatch.setenv("ADRS_DATA_DIR", str(data))
    with pytest.raises(ev.region_grid.GridError) as caught:
        ev.evaluate(str(FOLDER / "initial.py"))
    assert reason in str(caught.value) and str(data) in str(caught.value)


def test_rows_the_grid_cannot_use_are_left_out_and_counted(tmp_path, monkeypatch):
    data = _grid_copy(tmp_path)
    throughput = data / "throughput.csv"
    throughput.write_text(throughput.read_text().replace("azure:japaneast", "oracle:tokyo"))
    cost = data / "cost.csv"
    cost.write_text("\n".join(line for line in cost.read_text().splitlines()
                              if not line.startswith("aws:us-east-1,gcp:")) + "\n")
    monkeypatch.setenv("ADRS_DATA_DIR", str(data))
    assert ev.data_source() == (f"ADRS_DATA_DIR={data}: 13 regions, 152 edges, 26 throughput rows "
                                "of other providers ignored, 4 throughput rows without a price "
                                "ignored")
    assert len(ev.data_grid()["edges"]) == 152


def test_a_missing_grid_file_is_named(tmp_path, monkeypatch):
    data = _grid_copy(tmp_path)
    (data / "throughput.csv").unlink()
    monkeypatch.setenv("ADRS_DATA_DIR", str(data))
    with pytest.raises(ev.region_grid.GridError, match=r"throughput.csv: cannot read"):
        ev.evaluate(str(FOLDER / "initial.py"))
