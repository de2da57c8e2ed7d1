"""EPLB baseline: the hierarchical expert-parallel load balancer.

Entry point: rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus)
returns (phy2log, log2phy, logcnt) as numpy int arrays (see README.md).

Per layer: pack expert groups onto nodes with balanced bin packing, give extra replicas to the
experts with the highest load per replica inside each node, then pack the replicas onto the
node's GPUs with balanced bin packing. Each step is a greedy loop.
"""

from __future__ import annotations

import numpy as np

# EVOLVE-BLOCK-START
# A spare slot goes to the expert with the largest weight / count ** REPLICA_SHARE_EXPONENT.
# 1.0 ranks by the exact load per replica; above 1 spreads the spare slots over more experts,
# below 1 piles them on the hottest ones.
REPLICA_SHARE_EXPONENT = 1.0


def rebalance_experts(weight, num_replicas: int, num_groups: int, num_nodes: int,
                      num_gpus: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    weight = np.asarray(weight, dtype=np.float64)
    num_layers, num_experts = weight.shape
    if num_groups % num_nodes:
        # Groups cannot be spread evenly over the nodes: plan as one node holding one group.
        num_groups, num_nodes = 1, 1
    phy2log = np.empty((num_layers, num_replicas), dtype=np.int64)
    for layer in range(num_layers):
        phy2log[layer] = place_layer(weight[layer], num_replicas, num_groups, num_nodes, num_gpus)
    logcnt = np.stack([np.bincount(row, minlength=num_experts) for row in phy2log])
    return phy2log, expert_to_slots(phy2log, logcnt), logcnt


def place_layer(load: np.ndarray, num_replicas: int, num_groups: int, num_nodes: int,
                num_gpus: int) -> np.ndarray:
    """The logical expert held by each physical slot of one layer."""
    num_experts = load.shape[0]
    group_size = num_experts // num_groups
    slots_per_node = num_replicas // num_nodes
    gpus_per_node = num_gpus // num_nodes
    slots_per_gpu = num_replicas // num_gpus
    group_load = load.reshape(num_groups, group_size).sum(axis=1)
    group_node = balanced_packing(group_load, num_nodes, num_groups // num_nodes)
    slots = np.empty(num_replicas, dtype=np.int64)
    for node in range(num_nodes):
        groups = np.flatnonzero(group_node == node)
        experts = (groups[:, None] * group_size + np.arange(group_size)).ravel()
        counts = replicate(load[experts], slots_per_node)
        replica_expert = np.repeat(experts, counts)
        replica_load = np.repeat(load[experts] / counts, counts)
        replica_gpu = balanced_packing(replica_load, gpus_per_node, slots_per_gpu)
        # Slots of a GPU are contiguous: replicas land on their GPU in packing order.
        order = np.argsort(replica_gpu, kind="stable")
        slots[node * slots_per_node:(node + 1) * slots_per_node] = replica_expert[order]
    return slots


def replicate(load: np.ndarray, num_slots: int) -> np.ndarray:
    """Replica count per expert: one each, then each spare slot to the hottest per replica."""
    counts = np.ones(load.shape[0], dtype=np.int64)
    for _ in range(num_slots - load.shape[0]):
        counts[np.argmax(load / counts ** REPLICA_SHARE_EXPONENT)] += 1
    return counts


def balanced_packing(loads: np.ndarray, num_packs: int, capacity: int) -> np.ndarray:
    """Pack index of each item: heaviest first, into the lightest pack that still has room."""
    pack_load = np.zeros(num_packs)
    pack_count = np.zeros(num_packs, dtype=np.int64)
    pack_of = np.empty(loads.shape[0], dtype=np.int64)
    for item in np.argsort(-loads, kind="stable"):
        pack = int(np.argmin(np.where(pack_count < capacity, pack_load, np.inf)))
        pack_of[item] = pack
        pack_load[pack] += loads[item]
        pack_count[pack] += 1
    return pack_of


def expert_to_slots(phy2log: np.ndarray, logcnt: np.ndarray) -> np.ndarray:
    """For each layer and expert, its slots in increasing order, padded with -1."""
    num_layers, num_experts = logcnt.shape
    log2phy = np.full((num_layers, num_experts, int(logcnt.max())), -1, dtype=np.int64)
    for layer in range(num_layers):
        order = np.argsort(phy2log[layer], kind="stable")
        starts = np.cumsum(logcnt[layer]) - logcnt[layer]
        rank = np.arange(order.shape[0]) - np.repeat(starts, logcnt[layer])
        log2phy[layer, phy2log[layer][order], rank] = order
    return log2phy
# EVOLVE-BLOCK-END
