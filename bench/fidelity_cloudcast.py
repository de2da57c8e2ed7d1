"""How Cloudcast's synthetic region grid compares with the real Skyplane grid.

    .venv/bin/python bench/fidelity_cloudcast.py [--seeds 20] [--grid DIR]

Prints the egress prices and throughputs of the synthetic grid by kind of edge (inside a provider
on one continent, inside a provider across continents, to another provider), next to the figures
of the public Skyplane grid (profiles/cost.csv and throughput.csv, 2022, as published); with
`--grid DIR` (a folder holding those two CSV files) the same statistics of that real grid too.
Then, per workload family, how much cheaper a shared distribution tree is than the cheapest-path
baseline, next to the real intra-AWS configuration's saving.
"""

from __future__ import annotations

import argparse
import heapq
import importlib.util
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
spec = importlib.util.spec_from_file_location("cloudcast_evaluator",
                                              PROBLEMS / "cloudcast" / "evaluator.py")
ev = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = ev
spec.loader.exec_module(ev)

# Read off the public Skyplane grid: $/GB by sending provider, and Gbps between one VM each side.
PUBLISHED = {
    ("aws", "inside, one continent"): ("0.02 (0.08-0.15 from Asia, S. America)", "4.7-5.0"),
    ("aws", "inside, across continents"): ("0.02 (0.08-0.15 from Asia, S. America)", "2.3-4.5"),
    ("aws", "to other providers"): ("0.09 (0.11-0.15 from Asia, S. America)", "2.3-5.0"),
    ("gcp", "inside, one continent"): ("0.01 (N. America), 0.02 (Europe)", "6.5-7.0"),
    ("gcp", "inside, across continents"): ("0.08 (0.15 into Oceania)", "2.4-5.5"),
    ("gcp", "to other providers"): ("0.12 (0.19 into Oceania)", "2.2-7.0"),
    ("azure", "inside, one continent"): ("0.02", "14.5-15.4"),
    ("azure", "inside, across continents"): ("0.05", "3.7"),
    ("azure", "to other providers"): ("0.0875 (0.12 from Asia, Oceania)", "1.0-15.8"),
}
REAL_TREE_SAVING = {"intra-aws": "64%"}  # aws:ap-northeast-1 to six AWS regions


def kind(a: dict, b: dict) -> str:
    if a["provider"] != b["provider"]:
        return "to other providers"
    return "inside, one continent" if a["continent"] == b["continent"] else \
        "inside, across continents"


def edge_stats(networks: list[dict]) -> dict[tuple[str, str], tuple[str, str]]:
    prices, speeds = defaultdict(list), defaultdict(list)
    for network in networks:
        regions = network["regions"]
        for e in network["edges"]:
            a, b = regions[e["src"]], regions[e["dst"]]
            key = (a["provider"], kind(a, b))
            prices[key].append(e["usd_per_gb"])
            speeds[key].append(e["gbps"])
    return {key: (span(prices[key], 3), span(speeds[key], 1)) for key in prices}


def span(values: list[float], digits: int) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low:.{digits}f}-{high:.{digits}f} (median {mid:.{digits}f})"


def steiner_plan(workload) -> list[list[tuple[int, int]]]:
    """A shared tree by price (Takahashi-Matsuyama): attach the destination nearest to the tree."""
    out = defaultdict(list)
    for e in workload.network["edges"]:
        out[e["src"]].append((e["dst"], e["usd_per_gb"]))
    tree, edges, left = {workload.source}, set(), set(workload.destinations)
    while left:
        dist, parent = {t: 0.0 for t in tree}, {}
        heap = [(0.0, t) for t in sorted(tree)]
        while heap:
            d, u = heapq.heappop(heap)
            if d > dist.get(u, math.inf):
                continue
            for v, w in out[u]:
                if d + w < dist.get(v, math.inf):
                    dist[v], parent[v] = d + w, u
                    heapq.heappush(heap, (d + w, v))
        v = min(left, key=lambda x: (dist.get(x, math.inf), x))
        while v not in tree:
            edges.add((parent[v], v))
            tree.add(v)
            v = parent[v]
        left -= tree
    return [sorted(edges)] * workload.num_partitions


def tree_savings(workloads) -> dict[str, float]:
    savings = defaultdict(list)
    for w in workloads:
        tree = ev.transfer_cost(w, steiner_plan(w)).total_usd
        paths = ev.transfer_cost(w, ev.reference_plan(w)).total_usd
        savings[w.name.rsplit("-s", 1)[0]].append(1 - tree / paths)
    return {family: statistics.mean(values) for family, values in savings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--grid", type=Path, help="a folder with Skyplane's cost.csv and "
                                                  "throughput.csv")
    args = parser.parse_args()
    seeds = list(range(1, args.seeds + 1))
    workloads = ev.make_workloads(seeds)
    grid = ev.region_grid.read_grid(args.grid)[0] if args.grid else None
    synthetic = edge_stats([w.network for w in workloads[::len(ev.FAMILIES)]])
    real = edge_stats([grid]) if grid else {}
    for what, column in (("egress $/GB", 0), ("throughput Gbps", 1)):
        print(f"\n{what:<36} {'synthetic':<28} {'public Skyplane grid':<40}"
              + (" --grid" if grid else ""))
        for key, published in PUBLISHED.items():
            mine = synthetic.get(key, ("-", "-"))[column]
            theirs = real.get(key, ("-", "-"))[column] if grid else ""
            print(f"{key[0] + ', ' + key[1]:<36} {mine:<28} {published[column]:<40} {theirs}")
    print(f"\n{'tree saving vs cheapest paths':<36} {'synthetic':<28} {'public Skyplane grid':<40}"
          + (" --grid" if grid else ""))
    on_grid = tree_savings(ev.make_workloads(seeds, grid)) if grid else {}
    for family, saving in tree_savings(workloads).items():
        theirs = f"{100 * on_grid[family]:.0f}%" if family in on_grid else ""
        print(f"{family:<36} {f'{100 * saving:.0f}%':<28} {REAL_TREE_SAVING.get(family, '-'):<40} "
              f"{theirs}")

if __name__ == "__main__":
    main()
