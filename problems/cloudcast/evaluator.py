"""Trusted evaluator of the Cloudcast problem: broadcast a dataset from one cloud region to several
destination regions at least cost.

The candidate runs in a child process and returns, for every partition of the dataset, the set of
directed edges that carry it. This module checks those decisions strictly and recomputes every
figure itself (egress dollars, transfer time, VM dollars); nothing the candidate claims is believed.

    evaluate(program_path, workloads=None) -> dict   training workloads (or a named subset)
    evaluate_heldout(program_path) -> dict          held-out workloads
"""

from __future__ import annotations

import functools
import heapq
import importlib.util
import math
import random
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

PROBLEM_DIR = Path(__file__).resolve().parent
ENTRY_POINT = "plan_broadcast"
BITS_PER_BYTE = 8.0
SECONDS_PER_HOUR = 3600.0


def _load_harness() -> ModuleType:
    """The sibling _harness.py, loaded by path: the folder works wherever it is copied, and
    problems loaded side by side in one process each keep their own copy."""
    name = f"{__name__}._harness"
    spec = importlib.util.spec_from_file_location(name, PROBLEM_DIR / "_harness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


harness = _load_harness()


def _load_sibling(module: str) -> ModuleType:
    """A sibling module, loaded by path: the folder works wherever it is copied, and problems
    loaded side by side in one process each keep their own copy."""
    name = f"{__name__}.{module}"
    spec = importlib.util.spec_from_file_location(name, PROBLEM_DIR / f"{module}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded  # dataclasses look their module up by name
    spec.loader.exec_module(loaded)
    return loaded


region_grid = _load_sibling("region_grid")  # the synthetic grid and Skyplane's CSV layout

# ---------------------------------------------------------------------------------------------
# Workloads: a source, destinations and a dataset, on the synthetic grid (region_grid.py) or on
# the real grid in $ADRS_DATA_DIR.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """A source/destination configuration; providers (and, if given, continents) name where the
    regions are drawn from."""

    source_providers: tuple[str, ...]
    dest_providers: tuple[str, ...]
    num_destinations: int
    num_partitions: int
    data_gb: float
    source_continents: tuple[str, ...] = ()  # empty: any continent


# The public evaluator's five configurations (intra-AWS from Asia-Pacific, intra-Azure, intra-GCP
# and two across providers), 300 GB in 10 partitions to 6 destinations, and one edge case.
FAMILIES: dict[str, Family] = {
    "intra-aws": Family(("aws",), ("aws",), 6, 10, 300.0, ("asia",)),
    "intra-azure": Family(("azure",), ("azure",), 6, 10, 300.0),
    "intra-gcp": Family(("gcp",), ("gcp",), 6, 10, 300.0),
    "inter-agz": Family(("aws",), ("gcp", "azure"), 6, 10, 300.0),
    "inter-gaz": Family(("gcp",), ("azure", "aws"), 6, 10, 300.0),
    "single-dest": Family(("aws", "gcp", "azure"), ("aws", "gcp", "azure"), 1, 1, 50.0),
}


@dataclass(frozen=True)
class Workload:
    name: str
    network: dict[str, Any]  # exactly what the candidate receives
    source: int
    destinations: tuple[int, ...]
    num_partitions: int
    data_gb: float

    def task(self) -> list[Any]:
        """The positional arguments of plan_broadcast."""
        return [self.network, self.source, list(self.destinations), self.num_partitions,
                self.data_gb]


def make_workload(family_name: str, seed: int,
                  grid: dict[str, Any] | None = None) -> Workload | None:
    """One workload: on `grid`, or on a synthetic grid drawn from the seed. None when `grid` has
    too few regions of the family's kind (a real grid may lack a provider)."""
    family = FAMILIES[family_name]
    rng = random.Random(f"cloudcast:{family_name}:{seed}")
    network = grid if grid is not None else region_grid.synthetic_network(rng)
    regions = network["regions"]
    sources = [i for i, r in enumerate(regions) if r["provider"] in family.source_providers
               and (not family.source_continents or r["continent"] in family.source_continents)]
    if not sources:
        return None
    source = rng.choice(sources)
    reachable = cheapest_prices(network, source)
    pool = [i for i, r in enumerate(regions) if r["provider"] in family.dest_providers
            and i != source and reachable[i] < math.inf]
    if len(pool) < family.num_destinations:
        return None
    destinations = tuple(rng.sample(pool, family.num_destinations))
    return Workload(f"{family_name}-s{seed}", network, source, destinations,
                    family.num_partitions, family.data_gb)


def make_workloads(seeds: list[int], grid: dict[str, Any] | None = None) -> list[Workload]:
    made = [make_workload(family, seed, grid) for seed in seeds for family in FAMILIES]
    if grid is not None and not any(made):
        raise region_grid.GridError(f"{data_source()}: no workload fits this grid (each needs a "
                                    "source and enough reachable destinations)")
    return [w for w in made if w is not None]


def data_grid() -> dict[str, Any] | None:
    """The real grid of $ADRS_DATA_DIR, or None for the synthetic grids. An unusable grid raises
    region_grid.GridError, whose one-line message names the file."""
    root = region_grid.data_dir()
    return _read_grid(root)[0] if root else None


def data_source() -> str:
    """Which data the figures come from, for reports."""
    root = region_grid.data_dir()
    if not root:
        return ("synthetic: 30 regions with the price rules and throughput structure of the "
                "public Skyplane grid (region_grid.py)")
    return f"{region_grid.DATA_ENV}={_read_grid(root)[1]}"


@functools.cache
def _read_grid(root: Path) -> tuple[dict[str, Any], str]:
    return region_grid.read_grid(root)


# ---------------------------------------------------------------------------------------------
# Cost model (trusted).
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cost:
    egress_usd: float
    vm_usd: float
    seconds: float
    regions_used: int

    @property
    def total_usd(self) -> float:
        return self.egress_usd + self.vm_usd


def transfer_cost(workload: Workload, partitions: list[list[tuple[int, int]]]) -> Cost:
    """Egress of every partition on every edge it uses, plus one VM per region used for the time
    the bottleneck (an edge, a region's egress cap or its ingress cap) needs to move its bytes."""
    regions = workload.network["regions"]
    edges = edge_table(workload.network)
    part_gb = workload.data_gb / workload.num_partitions
    flow: dict[tuple[int, int], float] = {}
    for edge_set in partitions:
        for edge in edge_set:
            flow[edge] = flow.get(edge, 0.0) + part_gb
    egress_usd = sum(gb * edges[edge]["usd_per_gb"] for edge, gb in flow.items())
    out_gb = [0.0] * len(regions)
    in_gb = [0.0] * len(regions)
    seconds = 0.0
    for (u, v), gb in flow.items():
        out_gb[u] += gb
        in_gb[v] += gb
        seconds = max(seconds, gb * BITS_PER_BYTE / edges[(u, v)]["gbps"])
    for i, region in enumerate(regions):
        seconds = max(seconds, out_gb[i] * BITS_PER_BYTE / region["egress_gbps"],
                      in_gb[i] * BITS_PER_BYTE / region["ingress_gbps"])
    used = {workload.source, *workload.destinations}
    for u, v in flow:
        used.update((u, v))
    vm_usd = sum(regions[i]["vm_usd_per_hour"] for i in used) * seconds / SECONDS_PER_HOUR
    return Cost(egress_usd, vm_usd, seconds, len(used))


def lower_bound_usd(workload: Workload) -> float:
    """A cost no plan can beat: every partition needs a path to the priciest-to-reach destination
    and an edge into every destination; the source and destinations run a VM for at least the
    time their own caps need to send or receive the whole dataset."""
    regions = workload.network["regions"]
    edges = edge_table(workload.network)
    dist = cheapest_prices(workload.network, workload.source)
    farthest = max(dist[d] for d in workload.destinations)
    cheapest_in = sum(min(e["usd_per_gb"] for (u, v), e in edges.items() if v == d)
                      for d in workload.destinations)
    egress = workload.data_gb * max(farthest, cheapest_in)
    bits = workload.data_gb * BITS_PER_BYTE
    seconds = max([bits / regions[workload.source]["egress_gbps"]]
                  + [bits / regions[d]["ingress_gbps"] for d in workload.destinations])
    vm_rate = sum(regions[i]["vm_usd_per_hour"] for i in {workload.source, *workload.destinations})
    return egress + vm_rate * seconds / SECONDS_PER_HOUR


def edge_table(network: dict[str, Any]) -> dict[tuple[int, int], dict[str, Any]]:
    return {(e["src"], e["dst"]): e for e in network["edges"]}


def cheapest_prices(network: dict[str, Any], source: int) -> list[float]:
    """Dijkstra on egress price from the source; also the reference policy's distances."""
    return _dijkstra(network, source)[0]


def _dijkstra(network: dict[str, Any], source: int) -> tuple[list[float], list[int]]:
    n = len(network["regions"])
    adjacency: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for e in network["edges"]:
        adjacency[e["src"]].append((e["dst"], e["usd_per_gb"]))
    dist = [math.inf] * n
    parent = [-1] * n
    dist[source] = 0.0
    heap = [(0.0, source)]
    while heap:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        for v, w in adjacency[u]:
            if d + w < dist[v]:
                dist[v], parent[v] = d + w, u
                heapq.heappush(heap, (d + w, v))
    return dist, parent


def reference_plan(workload: Workload) -> list[list[tuple[int, int]]]:
    """The spec's baseline, for comparison figures: the union of cheapest paths, every partition."""
    _, parent = _dijkstra(workload.network, workload.source)
    edges: set[tuple[int, int]] = set()
    for d in workload.destinations:
        v = d
        while v != workload.source:
            edges.add((parent[v], v))
            v = parent[v]
    return [sorted(edges)] * workload.num_partitions


# ---------------------------------------------------------------------------------------------
# Validation of the candidate's decisions (trusted).
# ---------------------------------------------------------------------------------------------

class InvalidAnswer(ValueError):
    """A decision that breaks the interface; the message names the reason in one line."""


def validate_plan(workload: Workload, answer: Any) -> list[list[tuple[int, int]]]:
    """The plan as edge tuples, or InvalidAnswer naming what is wrong."""
    if not isinstance(answer, list):
        raise InvalidAnswer(f"expected a list of {workload.num_partitions} edge lists, "
                            f"got {type(answer).__name__}")
    if len(answer) != workload.num_partitions:
        raise InvalidAnswer(f"expected {workload.num_partitions} partitions, got {len(answer)}")
    edges = edge_table(workload.network)
    plan = []
    for k, edge_list in enumerate(answer):
        if not isinstance(edge_list, list):
            raise InvalidAnswer(f"partition {k}: expected a list of [src, dst] edges, "
                                f"got {type(edge_list).__name__}")
        seen: set[tuple[int, int]] = set()
        for item in edge_list:
            if (not isinstance(item, list) or len(item) != 2
                    or not all(type(x) is int for x in item)):
                raise InvalidAnswer(f"partition {k}: an edge must be a pair of int region ids, "
                                    f"got {harness.short(item)}")
            edge = (item[0], item[1])
            if edge not in edges:
                raise InvalidAnswer(f"partition {k}: edge {list(edge)} is not in the graph")
            if edge in seen:
                raise InvalidAnswer(f"partition {k}: edge {list(edge)} listed twice")
            seen.add(edge)
        missing = sorted(set(workload.destinations) - _reachable(workload.source, seen))
        if missing:
            raise InvalidAnswer(f"partition {k}: destinations {missing} are not reached from "
                                f"source {workload.source}")
        plan.append(sorted(seen))
    return plan


def _reachable(source: int, edges: set[tuple[int, int]]) -> set[int]:
    out: dict[int, list[int]] = {}
    for u, v in edges:
        out.setdefault(u, []).append(v)
    seen, stack = {source}, [source]
    while stack:
        for v in out.get(stack.pop(), ()):
            if v not in seen:
                seen.add(v)
                stack.append(v)
    return seen


# ---------------------------------------------------------------------------------------------
# The candidate's child process: the shared harness (_harness.py) serves and times it.
# ---------------------------------------------------------------------------------------------

def reference_broadcast(network: dict[str, Any], source: int, destinations: list[int],
                        num_partitions: int, data_gb: float) -> list[list[tuple[int, int]]]:
    """reference_plan called as plan_broadcast is: the trusted code the candidate is timed beside."""
    return reference_plan(Workload("reference", network, source, tuple(destinations),
                                   num_partitions, data_gb))


def solve_all(program_path: str, workloads: list[Workload],
              timeout_seconds: float) -> dict[str, Any]:
    """The candidate's answer and call time per workload (harness.Measured by name), the trusted
    reference timed beside it; a CandidateFailure names the workload at fault."""
    return harness.solve(program_path, ENTRY_POINT, {w.name: w.task() for w in workloads},
                         timeout_seconds,
                         reference=(str(PROBLEM_DIR / "evaluator.py"), "reference_broadcast"))


# ---------------------------------------------------------------------------------------------
# Scoring and the contract's entry points.
# ---------------------------------------------------------------------------------------------

def load_config() -> dict[str, Any]:
    with open(PROBLEM_DIR / "problem.toml", "rb") as handle:
        return tomllib.load(handle)


def evaluate(program_path: str, workloads: list[str] | None = None) -> dict[str, Any]:
    config = load_config()
    pool = {w.name: w for w in make_workloads(list(config["workloads"]["train_seeds"]), data_grid())}
    try:
        names = harness.select_workloads(workloads, list(pool))
    except ValueError as exc:
        return harness.failure(str(exc))
    return score_program(program_path, [pool[name] for name in names],
                         float(config["candidate"]["timeout_seconds"]))


def evaluate_heldout(program_path: str) -> dict[str, Any]:
    """The held-out seeds: other throughputs, sources and destinations (on a real grid, other
    sources and destinations on the same grid)."""
    config = load_config()
    chosen = make_workloads(list(config["workloads"]["heldout_seeds"]), data_grid())
    return score_program(program_path, chosen, float(config["candidate"]["timeout_seconds"]))


def score_program(program_path: str, workloads: list[Workload],
                  timeout_seconds: float) -> dict[str, Any]:
    """Run the candidate on the workloads, validate its plans and score them: per workload the
    ratio lower bound / cost (1.0 would be optimal); combined_score is their mean."""
    started = time.perf_counter()
    try:
        answers = solve_all(program_path, workloads, timeout_seconds)
    except harness.CandidateFailure as exc:
        return harness.failure(str(exc), stderr_tail=exc.stderr_tail,
                               timings={"evaluation_seconds": time.perf_counter() - started})
    costs: dict[str, Cost] = {}
    for w in workloads:
        try:
            costs[w.name] = transfer_cost(w, validate_plan(w, answers[w.name].answer))
        except InvalidAnswer as exc:
            return harness.failure(f"workload {w.name}: invalid answer: {exc}")
    per_workload = {w.name: lower_bound_usd(w) / costs[w.name].total_usd for w in workloads}
    baseline = {w.name: transfer_cost(w, reference_plan(w)) for w in workloads}
    n = len(workloads)
    return {
        "combined_score": sum(per_workload.values()) / n,
        "mean_cost_usd": sum(c.total_usd for c in costs.values()) / n,
        "mean_egress_usd": sum(c.egress_usd for c in costs.values()) / n,
        "mean_vm_usd": sum(c.vm_usd for c in costs.values()) / n,
        "mean_transfer_seconds": sum(c.seconds for c in costs.values()) / n,
        "cost_vs_baseline": sum(costs[k].total_usd / baseline[k].total_usd for k in costs) / n,
        "per_workload": per_workload,
        "artifacts": {"worst_workloads": _worst_text(per_workload, costs, baseline),
                      "data_source": data_source()},
        "timings": {"candidate_call_ms": 1000 * sum(a.seconds for a in answers.values()),
                    "baseline_call_ms": 1000 * sum(a.reference_seconds for a in answers.values()),
                    "evaluation_seconds": time.perf_counter() - started},
    }


def _worst_text(per_workload: dict[str, float], costs: dict[str, Cost],
                baseline: dict[str, Cost], count: int = 3) -> str:
    worst = sorted(per_workload, key=lambda name: (per_workload[name], name))[:count]
    lines = []
    for name in worst:
        c, b = costs[name], baseline[name]
        lines.append(f"{name}: score {per_workload[name]:.3f}, cost ${c.total_usd:.2f} "
                     f"(egress ${c.egress_usd:.2f} + VMs ${c.vm_usd:.2f}, {c.seconds:.0f} s, "
                     f"{c.regions_used} regions) vs cheapest-path baseline ${b.total_usd:.2f} "
                     f"(egress ${b.egress_usd:.2f}, {b.seconds:.0f} s)")
    return "\n".join(lines)
