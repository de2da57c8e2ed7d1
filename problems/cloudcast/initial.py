"""Cloudcast baseline: send the dataset to every destination along its cheapest path by egress
price (Dijkstra), every partition on the same edges.

Entry point: plan_broadcast(network, source, destinations, num_partitions, data_gb)
returns, for each partition, the list of directed edges (src, dst) that carry it.
"""

from __future__ import annotations

import heapq
import math

# EVOLVE-BLOCK-START
# Price multiplier of an edge that already carries the data to an earlier destination.
# 1.0 routes every destination on its own (the classic cheapest-path baseline).
REUSE_DISCOUNT = 1.0
# Dollars per GB added to an edge's weight per 1/Gbps of its throughput (0 ignores speed).
THROUGHPUT_WEIGHT = 0.0


def plan_broadcast(network: dict, source: int, destinations: list[int], num_partitions: int,
                   data_gb: float) -> list[list[tuple[int, int]]]:
    """Route each destination in turn along its cheapest path; all partitions share the edges."""
    chosen: set[tuple[int, int]] = set()
    for dest in destinations:
        weights = {(e["src"], e["dst"]): edge_weight(e, chosen) for e in network["edges"]}
        chosen.update(cheapest_path(len(network["regions"]), weights, source, dest))
    tree = sorted(chosen)
    return [list(tree) for _ in range(num_partitions)]


def edge_weight(edge: dict, chosen: set[tuple[int, int]]) -> float:
    """What routing over this edge costs, for Dijkstra."""
    weight = edge["usd_per_gb"] + THROUGHPUT_WEIGHT / edge["gbps"]
    if (edge["src"], edge["dst"]) in chosen:
        weight *= REUSE_DISCOUNT
    return weight
# EVOLVE-BLOCK-END


def cheapest_path(num_regions: int, weights: dict[tuple[int, int], float], source: int,
                  target: int) -> list[tuple[int, int]]:
    """Edges of a least-weight path from source to target (Dijkstra; a negative weight counts
    as zero)."""
    adjacency: list[list[tuple[int, float]]] = [[] for _ in range(num_regions)]
    for (u, v), w in weights.items():
        adjacency[u].append((v, max(w, 0.0)))
    dist = [math.inf] * num_regions
    parent = [-1] * num_regions
    dist[source] = 0.0
    heap = [(0.0, source)]
    while heap:
        d, u = heapq.heappop(heap)
        if u == target:
            break
        if d > dist[u]:
            continue
        for v, w in adjacency[u]:
            if d + w < dist[v]:
                dist[v], parent[v] = d + w, u
                heapq.heappush(heap, (d + w, v))
    if parent[target] < 0 and target != source:
        raise ValueError(f"region {target} cannot be reached from {source}")
    path = []
    while target != source:
        path.append((parent[target], target))
        target = parent[target]
    return path[::-1]
