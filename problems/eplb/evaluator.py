"""Trusted evaluator of the EPLB problem: replicate and place Mixture-of-Experts experts on GPUs so
that the per-GPU load is balanced, and decide fast.

The candidate runs in a persistent child process. For every window of measured expert load it
returns a placement (slot -> expert map, expert -> slots map, replica counts); this module checks
the placement strictly and scores its balance on the NEXT window of load, as in production. The
wall time of each call is measured here, around the request to the child, minus a calibrated
round trip, and compared with a trusted copy of the baseline timed on the same input at the same
moment. Balance is deterministic; the speed term moves in coarse steps, so the score repeats
between runs. The public evaluator's per-slot balancedness is reported beside it.

    evaluate(program_path, workloads=None) -> dict   training workloads (or a named subset)
    evaluate_heldout(program_path) -> dict          held-out workloads
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import statistics
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

PROBLEM_DIR = Path(__file__).resolve().parent
ENTRY_POINT = "rebalance_experts"
BALANCE_WEIGHT = 0.9           # combined = 0.9 x balancedness + 0.1 x speed term
SPEED_STEP = 4.0               # the speed term moves in steps of 4x faster or slower...
SPEED_STEPS = 2                # ...two steps (16x faster) earn all of it, two slower none
MIN_CALL_SECONDS = 1e-5        # floor of both measured times (the round trip is subtracted)
WARMUP_SEED = 12345


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

# ---------------------------------------------------------------------------------------------
# Workloads: per-layer skewed expert popularity drifting between windows.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """A cluster shape and a load process. popularity: "lognormal" or "zipf"."""

    num_experts: int
    num_replicas: int
    num_groups: int
    num_nodes: int
    num_gpus: int
    num_layers: int
    popularity: str
    skew: float            # lognormal sigma, or Zipf exponent
    persistence: float     # AR(1) coefficient of the log-load drift between windows
    drift: float           # stationary standard deviation of that drift
    cold_share: float = 0.0  # share of experts that receive no tokens at all
    tokens: int = 65536    # routed tokens per layer and window (top-k included)
    windows: int = 4


FAMILIES: dict[str, Family] = {
    # DeepSeek-V3 shape: 256 experts in 8 groups, 288 slots on 32 GPUs in 4 nodes.
    "lognormal": Family(256, 288, 8, 4, 32, 12, "lognormal", 1.0, 0.9, 0.4),
    "zipf-hot": Family(256, 288, 8, 4, 32, 12, "zipf", 1.1, 0.9, 0.3),
    "drifting": Family(256, 288, 8, 4, 32, 12, "lognormal", 0.8, 0.3, 0.8),
    # 5 groups cannot be split over 2 nodes: the hierarchy must give way to a global plan.
    "uneven-groups": Family(120, 136, 5, 2, 8, 12, "lognormal", 1.0, 0.8, 0.4),
    # As many slots as experts: placement is everything.
    "no-spare": Family(64, 64, 4, 2, 8, 12, "lognormal", 1.0, 0.9, 0.3),
    # A third of the experts idle.
    "cold-experts": Family(128, 160, 8, 2, 16, 12, "lognormal", 1.2, 0.9, 0.4, cold_share=0.33),
}


@dataclass(frozen=True)
class Workload:
    name: str
    family: Family
    loads: np.ndarray  # [windows, layers, experts], float64 token counts

    def task(self, window: int) -> list[Any]:
        """The positional arguments of rebalance_experts for one window."""
        f = self.family
        return [self.loads[window].tolist(), f.num_replicas, f.num_groups, f.num_nodes, f.num_gpus]


def make_loads(family: Family, rng: np.random.Generator) -> np.ndarray:
    """Token counts per window, layer and expert: a skewed base popularity per layer, times a
    log-normal AR(1) drift, sampled as Poisson counts."""
    f = family
    shape = (f.num_layers, f.num_experts)
    if f.popularity == "zipf":
        ranks = np.argsort(rng.random(shape), axis=1) + 1.0
        base = ranks ** -f.skew
    else:
        base = rng.lognormal(0.0, f.skew, shape)
    if f.cold_share > 0:
        base = base * (rng.random(shape) >= f.cold_share)
    innovation = f.drift * math.sqrt(1.0 - f.persistence ** 2)
    state = rng.normal(0.0, f.drift, shape)
    windows = []
    for _ in range(f.windows):
        rate = base * np.exp(state)
        rate = rate / rate.sum(axis=1, keepdims=True) * f.tokens
        windows.append(rng.poisson(rate).astype(np.float64))
        state = f.persistence * state + rng.normal(0.0, innovation, shape)
    return np.stack(windows)


def make_workload(family_name: str, seed: int, layers: int | None = None) -> Workload:
    """One seeded workload of the family; `layers` overrides the family's number of layers."""
    rng = np.random.default_rng([seed, sorted(FAMILIES).index(family_name)])
    family = FAMILIES[family_name]
    if layers is not None:
        family = dataclasses.replace(family, num_layers=layers)
    return Workload(f"{family_name}-s{seed}", family, make_loads(family, rng))


def make_workloads(seeds: list[int], layers: int | None = None) -> list[Workload]:
    return [make_workload(family, seed, layers) for seed in seeds for family in FAMILIES]


# ---------------------------------------------------------------------------------------------
# Validation and balance (trusted).
# ---------------------------------------------------------------------------------------------

class InvalidAnswer(ValueError):
    """A placement that breaks the interface; the message names the reason in one line."""


def _int_array(value: Any, label: str, ndim: int) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidAnswer(f"{label} is not a rectangular array: {exc}") from None
    if array.ndim != ndim:
        raise InvalidAnswer(f"{label} must have {ndim} dimensions, got shape {array.shape}")
    if array.dtype.kind not in "iu":
        raise InvalidAnswer(f"{label} must hold integers, got {array.dtype}")
    return array.astype(np.int64)


def validate_placement(family: Family, answer: Any) -> np.ndarray:
    """phy2log [layers, slots] of a valid answer, or InvalidAnswer naming what is wrong."""
    L, E, P = family.num_layers, family.num_experts, family.num_replicas
    if not isinstance(answer, list) or len(answer) != 3:
        raise InvalidAnswer("expected the triple (phy2log, log2phy, logcnt)")
    phy2log = _int_array(answer[0], "phy2log", 2)
    log2phy = _int_array(answer[1], "log2phy", 3)
    logcnt = _int_array(answer[2], "logcnt", 2)
    if phy2log.shape != (L, P):
        raise InvalidAnswer(f"phy2log must have shape ({L}, {P}), got {phy2log.shape}")
    if phy2log.min() < 0 or phy2log.max() >= E:
        raise InvalidAnswer(f"phy2log holds an expert id outside 0..{E - 1}")
    if logcnt.shape != (L, E):
        raise InvalidAnswer(f"logcnt must have shape ({L}, {E}), got {logcnt.shape}")
    counts = np.stack([np.bincount(row, minlength=E) for row in phy2log])
    if counts.min() < 1:
        layer, expert = np.argwhere(counts < 1)[0]
        raise InvalidAnswer(f"layer {layer}: expert {expert} has no replica")
    if not np.array_equal(counts, logcnt):
        layer, expert = np.argwhere(counts != logcnt)[0]
        raise InvalidAnswer(f"layer {layer}: logcnt says expert {expert} has "
                            f"{logcnt[layer, expert]} replicas, phy2log gives it "
                            f"{counts[layer, expert]}")
    _check_log2phy(log2phy, phy2log, logcnt, P)
    return phy2log


def _check_log2phy(log2phy: np.ndarray, phy2log: np.ndarray, logcnt: np.ndarray, P: int) -> None:
    L, E = logcnt.shape
    if log2phy.shape[:2] != (L, E) or log2phy.shape[2] < logcnt.max():
        raise InvalidAnswer(f"log2phy must have shape ({L}, {E}, >= {logcnt.max()}), "
                            f"got {log2phy.shape}")
    if log2phy.min() < -1 or log2phy.max() >= P:
        raise InvalidAnswer(f"log2phy holds a slot id outside -1..{P - 1}")
    expected_used = np.arange(log2phy.shape[2]) < logcnt[:, :, None]
    if not np.array_equal(log2phy >= 0, expected_used):
        raise InvalidAnswer("log2phy must list each expert's logcnt slots first, then -1 padding")
    layer_of = np.broadcast_to(np.arange(L)[:, None, None], log2phy.shape)[expected_used]
    expert_of = np.broadcast_to(np.arange(E)[None, :, None], log2phy.shape)[expected_used]
    slot = log2phy[expected_used]
    if not np.array_equal(phy2log[layer_of, slot], expert_of):
        raise InvalidAnswer("log2phy lists a slot that phy2log gives to another expert")
    seen = np.zeros((L, P), dtype=np.int64)
    np.add.at(seen, (layer_of, slot), 1)
    if seen.max() > 1:
        raise InvalidAnswer("log2phy lists a slot twice")


def gpu_loads(load: np.ndarray, phy2log: np.ndarray, num_gpus: int) -> np.ndarray:
    """[layers, gpus]: a slot carries its expert's load split evenly over the expert's slots."""
    L, E = load.shape
    counts = np.stack([np.bincount(row, minlength=E) for row in phy2log])
    per_slot = np.take_along_axis(load / counts, phy2log, axis=1)
    return per_slot.reshape(L, num_gpus, -1).sum(axis=2)


def balancedness(load: np.ndarray, phy2log: np.ndarray, num_gpus: int) -> float:
    """Mean over layers of (mean GPU load / max GPU load); an idle layer counts as balanced."""
    per_gpu = gpu_loads(load, phy2log, num_gpus)
    peak = per_gpu.max(axis=1)
    ratio = np.where(peak > 0, per_gpu.mean(axis=1) / np.where(peak > 0, peak, 1.0), 1.0)
    return float(ratio.mean())


def slot_balancedness(load: np.ndarray, phy2log: np.ndarray) -> float:
    """The public ADRS/OpenEvolve evaluator's figure, reported for comparison: the load of every
    physical slot (its expert's load split evenly over the expert's slots), then the sum over
    layers of the mean slot load over the sum over layers of the max slot load."""
    L, E = load.shape
    counts = np.stack([np.bincount(row, minlength=E) for row in phy2log])
    per_slot = np.take_along_axis(load / counts, phy2log, axis=1)
    peak = float(per_slot.max(axis=1).sum())
    return float(per_slot.mean(axis=1).sum()) / peak if peak > 0 else 0.0


def speed_term(speedup: float) -> float:
    """0.5 at the baseline's speed, 0.25 more per SPEED_STEP times faster (less per times
    slower), clipped to [0, 1]. The steps switch at 2x, 8x faster or slower, far from the 10-20%
    timing noise: a program's score repeats unless its speed sits near a switch."""
    steps = round(math.log(speedup) / math.log(SPEED_STEP))
    return min(1.0, max(0.0, 0.5 + 0.5 * steps / SPEED_STEPS))


def speedup(pairs: list[tuple[float, float]]) -> float:
    """Geometric mean of baseline time / candidate time over (candidate, baseline) pairs, both
    floored at MIN_CALL_SECONDS."""
    logs = [math.log(max(base, MIN_CALL_SECONDS) / max(mine, MIN_CALL_SECONDS))
            for mine, base in pairs]
    return math.exp(sum(logs) / len(logs))


# ---------------------------------------------------------------------------------------------
# The trusted reference: a copy of the hierarchical baseline, for time and balance comparisons.
# ---------------------------------------------------------------------------------------------

def reference_rebalance(weight: np.ndarray, num_replicas: int, num_groups: int, num_nodes: int,
                        num_gpus: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(phy2log, log2phy, logcnt) of the hierarchical policy: groups to nodes, replicas inside
    nodes, replicas to GPUs. The same work as the baseline, so the same time."""
    if num_groups % num_nodes:
        num_groups, num_nodes = 1, 1
    L, E = weight.shape
    group_size = E // num_groups
    slots_per_node = num_replicas // num_nodes
    phy2log = np.empty((L, num_replicas), dtype=np.int64)
    for layer in range(L):
        load = weight[layer]
        group_node = _packing(load.reshape(num_groups, group_size).sum(axis=1), num_nodes,
                              num_groups // num_nodes)
        for node in range(num_nodes):
            groups = np.flatnonzero(group_node == node)
            experts = (groups[:, None] * group_size + np.arange(group_size)).ravel()
            counts = np.ones(experts.shape[0], dtype=np.int64)
            for _ in range(slots_per_node - experts.shape[0]):
                counts[np.argmax(load[experts] / counts ** 1.0)] += 1
            gpu = _packing(np.repeat(load[experts] / counts, counts), num_gpus // num_nodes,
                           num_replicas // num_gpus)
            phy2log[layer, node * slots_per_node:(node + 1) * slots_per_node] = \
                np.repeat(experts, counts)[np.argsort(gpu, kind="stable")]
    logcnt = np.stack([np.bincount(row, minlength=E) for row in phy2log])
    log2phy = np.full((L, E, int(logcnt.max())), -1, dtype=np.int64)
    for layer in range(L):
        order = np.argsort(phy2log[layer], kind="stable")
        rank = np.arange(num_replicas) - np.repeat(np.cumsum(logcnt[layer]) - logcnt[layer],
                                                   logcnt[layer])
        log2phy[layer, phy2log[layer][order], rank] = order
    return phy2log, log2phy, logcnt


def _packing(loads: np.ndarray, num_packs: int, capacity: int) -> np.ndarray:
    pack_load = np.zeros(num_packs)
    pack_count = np.zeros(num_packs, dtype=np.int64)
    pack_of = np.empty(loads.shape[0], dtype=np.int64)
    for item in np.argsort(-loads, kind="stable"):
        pack = int(np.argmin(np.where(pack_count < capacity, pack_load, np.inf)))
        pack_of[item] = pack
        pack_load[pack] += loads[item]
        pack_count[pack] += 1
    return pack_of


# ---------------------------------------------------------------------------------------------
# The candidate's child process: the shared harness (_harness.py) serves and times it.
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    """One rebalance: plan on window `window` of a workload, score on the next one."""

    workload: Workload
    window: int

    @property
    def key(self) -> str:
        return f"{self.workload.name}/w{self.window}"


def warmup_task() -> list[Any]:
    """An unscored input run first, so imports and caches warm up outside the timed calls."""
    family = FAMILIES["lognormal"]
    loads = make_loads(family, np.random.default_rng(WARMUP_SEED))
    return Workload("warmup", family, loads).task(0)


def run_calls(program_path: str, calls: list[Call],
              timeout_seconds: float) -> dict[str, Any]:
    """Every call's answer and times (harness.Measured by call key); the trusted reference runs in
    a child of its own and is timed right before or after the candidate on the same input."""
    return harness.solve(program_path, ENTRY_POINT, {c.key: c.workload.task(c.window) for c in calls},
                         timeout_seconds,
                         reference=(str(PROBLEM_DIR / "evaluator.py"), "reference_rebalance"),
                         warmup=warmup_task(), arrays=(0,))


# ---------------------------------------------------------------------------------------------
# Scoring and the contract's entry points.
# ---------------------------------------------------------------------------------------------

def load_config() -> dict[str, Any]:
    with open(PROBLEM_DIR / "problem.toml", "rb") as handle:
        return tomllib.load(handle)


def evaluate(program_path: str, workloads: list[str] | None = None) -> dict[str, Any]:
    config = load_config()
    seeds, layers = config["workloads"]["train_seeds"], config["workloads"].get("layers")
    pool = {w.name: w for w in make_workloads(list(seeds), layers)}
    try:
        names = harness.select_workloads(workloads, list(pool))
    except ValueError as exc:
        return harness.failure(str(exc))
    return score_program(program_path, [pool[name] for name in names],
                         float(config["candidate"]["timeout_seconds"]))


def evaluate_heldout(program_path: str) -> dict[str, Any]:
    config = load_config()
    seeds, layers = config["workloads"]["heldout_seeds"], config["workloads"].get("layers")
    return score_program(program_path, make_workloads(list(seeds), layers),
                         float(config["candidate"]["timeout_seconds"]))


@dataclass(frozen=True)
class WorkloadResult:
    """Means over a workload's calls (times: medians)."""

    balance: float
    reference_balance: float
    slot_balance: float
    reference_slot_balance: float
    candidate_seconds: float
    reference_seconds: float


def score_program(program_path: str, workloads: list[Workload],
                  timeout_seconds: float) -> dict[str, Any]:
    """Per workload: 0.9 x balancedness on the next window + 0.1 x the speed term of the whole
    evaluation; combined_score is the mean over workloads."""
    started = time.perf_counter()
    calls = [Call(w, window) for w in workloads for window in range(w.family.windows - 1)]
    try:
        measured = run_calls(program_path, calls, timeout_seconds)
    except harness.CandidateFailure as exc:
        return harness.failure(str(exc), stderr_tail=exc.stderr_tail,
                               timings={"evaluation_seconds": time.perf_counter() - started})
    results: dict[str, WorkloadResult] = {}
    plan_balances = []
    for w in workloads:
        mine = [c for c in calls if c.workload is w]
        figures = []  # per call: balance, reference's, slot balance, reference's
        for c in mine:
            m = measured[c.key]
            try:
                phy2log = validate_placement(w.family, m.answer)
            except InvalidAnswer as exc:
                return harness.failure(f"workload {c.key}: invalid answer: {exc}")
            reference = np.asarray(m.reference_answer[0], dtype=np.int64)
            upcoming, gpus = w.loads[c.window + 1], w.family.num_gpus
            figures.append((balancedness(upcoming, phy2log, gpus),
                            balancedness(upcoming, reference, gpus),
                            slot_balancedness(upcoming, phy2log),
                            slot_balancedness(upcoming, reference)))
            plan_balances.append(balancedness(w.loads[c.window], phy2log, gpus))
        means = np.mean(figures, axis=0)
        results[w.name] = WorkloadResult(
            *(float(x) for x in means),
            statistics.median(measured[c.key].seconds for c in mine),
            statistics.median(measured[c.key].reference_seconds for c in mine))
    faster = speedup([(r.candidate_seconds, r.reference_seconds) for r in results.values()])
    speed = speed_term(faster)
    per_workload = {name: BALANCE_WEIGHT * r.balance + (1.0 - BALANCE_WEIGHT) * speed
                    for name, r in results.items()}

    def mean(field: str) -> float:
        return float(np.mean([getattr(r, field) for r in results.values()]))

    return {
        "combined_score": float(np.mean(list(per_workload.values()))),
        "balancedness": mean("balance"),
        "baseline_balancedness": mean("reference_balance"),
        "plan_window_balancedness": float(np.mean(plan_balances)),
        "slot_balancedness": mean("slot_balance"),
        "baseline_slot_balancedness": mean("reference_slot_balance"),
        "speed_term": speed,
        "speedup_vs_baseline": faster,
        "runtime_ms": 1000 * mean("candidate_seconds"),
        "per_workload": per_workload,
        "artifacts": {"worst_workloads": _worst_text(results, per_workload)},
        "timings": {"candidate_call_ms": 1000 * sum(r.candidate_seconds for r in results.values()),
                    "baseline_call_ms": 1000 * sum(r.reference_seconds for r in results.values()),
                    "evaluation_seconds": time.perf_counter() - started},
    }


def _worst_text(results: dict[str, WorkloadResult], scores: dict[str, float],
                count: int = 3) -> str:
    worst = sorted(results, key=lambda name: (scores[name], name))[:count]
    return "\n".join(
        f"{name}: score {scores[name]:.4f}, balancedness {results[name].balance:.4f} vs baseline "
        f"{results[name].reference_balance:.4f} (per slot: {results[name].slot_balance:.4f} vs "
        f"{results[name].reference_slot_balance:.4f})" for name in worst)
