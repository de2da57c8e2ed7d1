"""Trusted evaluator of the transaction-scheduling problem.

The candidate program runs in a child process and only returns an order per workload; this module
generates the workloads, validates each order strictly and recomputes every figure itself with an
exact simulator of the chosen model: the paper's conflict model (the default) or strict two-phase
locking (see README.md). Standard library only.
"""

import importlib.util
import random
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

Op = tuple[str, int]
Workload = list[list[Op]]

HERE = Path(__file__).resolve().parent
FAMILIES = ("zipf", "rmw", "rfwl", "edge")
BATCH_SIZE = 100
ENTRY_POINT = "schedule"


def _load_harness() -> ModuleType:
    """The sibling _harness.py, loaded by path: the folder works wherever it is copied, and
    problems loaded side by side in one process each keep their own copy."""
    name = f"{__name__}._harness"
    spec = importlib.util.spec_from_file_location(name, HERE / "_harness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


harness = _load_harness()


# --------------------------------------------------------------------------- settings

MODELS = ("conflict", "strict-2pl")  # the first is the default


@dataclass(frozen=True)
class Settings:
    """What problem.toml says about workloads, the execution model and the candidate's budget."""

    train_seeds: tuple[int, ...]
    heldout_seeds: tuple[int, ...]
    candidate_timeout: float
    model: str = MODELS[0]


def load_settings(path: Path = HERE / "problem.toml") -> Settings:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    seeds = data["workloads"]
    model = seeds.get("model", MODELS[0])
    if model not in MODELS:
        raise ValueError(f"problem.toml: [workloads] model = {model!r} is not one of "
                         f"{', '.join(MODELS)}")
    return Settings(train_seeds=tuple(int(s) for s in seeds["train_seeds"]),
                    heldout_seeds=tuple(int(s) for s in seeds["heldout_seeds"]),
                    candidate_timeout=float(data["candidate"]["timeout_seconds"]), model=model)


# --------------------------------------------------------------------------- the models

def start_times(workload: Workload, order: list[int], model: str = MODELS[0]) -> list[int]:
    """Start time of each transaction of `order` (same positions) under `model` (README.md)."""
    if model == "conflict":
        return conflict_starts(workload, order)
    if model == "strict-2pl":
        return two_phase_starts(workload, order)
    raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")


def conflict_starts(workload: Workload, order: list[int]) -> list[int]:
    """The paper's model (Cheng et al., VLDB'24): an operation takes one time unit on its key, and
    the given order is the serial order on every key. So a transaction starts at the earliest time
    >= 0 at which each of its writes falls after the latest operation of an earlier transaction on
    that key, and each of its reads after the latest such write. Nothing else delays it: no locks
    held to commit, no floor from the transaction before it.
    """
    last_op: dict[int, int] = {}     # key -> time of the latest operation on it so far
    last_write: dict[int, int] = {}  # key -> time of the latest write to it so far
    starts = []
    for t in order:
        ops = workload[t]
        start = 0
        for offset, (op, key) in enumerate(ops):
            after = last_op if op == "w" else last_write
            if key in after:
                start = max(start, after[key] + 1 - offset)
        for offset, (op, key) in enumerate(ops):
            moment = start + offset
            last_op[key] = max(last_op.get(key, moment), moment)
            if op == "w":
                last_write[key] = max(last_write.get(key, moment), moment)
        starts.append(start)
    return starts


@dataclass(frozen=True)
class Lock:
    """A transaction's lock on one key: held from offset `first` until commit, exclusive if it writes."""

    key: int
    first: int
    writes: bool


@dataclass(frozen=True)
class Txn:
    length: int
    locks: tuple[Lock, ...]


def compile_txn(ops: list[Op]) -> Txn:
    """The locks a transaction takes: one per key, from its first access, write mode if it ever writes."""
    first: dict[int, int] = {}
    writes: dict[int, bool] = {}
    for index, (op, key) in enumerate(ops):
        first.setdefault(key, index)
        writes[key] = writes.get(key, False) or op == "w"
    return Txn(len(ops), tuple(Lock(k, first[k], writes[k]) for k in first))


def two_phase_starts(workload: Workload, order: list[int]) -> list[int]:
    """The strict two-phase-locking variant: transactions are admitted one by one, none before
    the one admitted just before it.

    A transaction starting at s holds key k over [s + first_k, s + length). Against a holder whose
    interval is [a, b) on a key where either side writes, overlap means s + first_k < b and
    a < s + length, so the forbidden starts are the integers lo..hi below; the transaction takes the
    smallest start >= the previous start outside every forbidden range.
    """
    txns = [compile_txn(workload[t]) for t in order]
    holders: dict[int, list[tuple[int, int, bool]]] = {}  # key -> (begin, end, writes) admitted
    starts: list[int] = []
    floor = 0
    for txn in txns:
        forbidden: list[tuple[int, int]] = []
        for lock in txn.locks:
            for begin, end, other_writes in holders.get(lock.key, ()):
                if lock.writes or other_writes:
                    forbidden.append((begin - txn.length + 1, end - lock.first - 1))
        start = earliest_free(floor, forbidden)
        for lock in txn.locks:
            holders.setdefault(lock.key, []).append(
                (start + lock.first, start + txn.length, lock.writes))
        starts.append(start)
        floor = start
    return starts


def earliest_free(floor: int, forbidden: list[tuple[int, int]]) -> int:
    """Smallest integer >= floor in none of the closed ranges lo..hi."""
    start = floor
    for lo, hi in sorted(forbidden):
        if lo > start:
            break  # ranges are sorted by lo: nothing later covers `start`
        if hi >= start:
            start = hi + 1
    return start


def makespan(workload: Workload, order: list[int], model: str = MODELS[0]) -> int:
    """Largest commit time of the schedule (0 for an empty batch)."""
    starts = start_times(workload, order, model)
    return max((s + len(workload[t]) for s, t in zip(starts, order)), default=0)


def bounds(workload: Workload) -> tuple[int, int]:
    """(lower, upper): the longest transaction, and the sum of lengths (the sequential order)."""
    lengths = [len(ops) for ops in workload]
    return max(lengths, default=0), sum(lengths)


def workload_score(workload: Workload, span: int) -> float:
    """1 at the lower bound, 0 at the sequential makespan, linear in between."""
    lower, upper = bounds(workload)
    if upper == lower:
        return 1.0  # every order is optimal (0 or 1 transaction, or a single non-empty one)
    return (upper - span) / (upper - lower)


# --------------------------------------------------------------------------- workloads

def generate(family: str, seed: int) -> Workload:
    """One seeded batch of the family; the same (family, seed) always gives the same batch."""
    rng = random.Random(f"txn_scheduling:{family}:{seed}")
    makers = {"zipf": _zipf_batch, "rmw": _rmw_batch, "rfwl": _rfwl_batch, "edge": _edge_batch}
    if family not in makers:
        raise ValueError(f"unknown workload family {family!r}; known: {', '.join(FAMILIES)}")
    return makers[family](rng)


def build_workloads(seeds: tuple[int, ...]) -> dict[str, Workload]:
    return {f"{family}-s{seed}": generate(family, seed) for seed in seeds for family in FAMILIES}


def _zipf_sampler(rng: random.Random, keys: list[int], exponent: float):
    cumulative: list[float] = []
    total = 0.0
    for rank in range(1, len(keys) + 1):
        total += rank ** -exponent
        cumulative.append(total)
    return lambda: rng.choices(keys, cum_weights=cumulative)[0]


def _zipf_batch(rng: random.Random) -> Workload:
    """Zipf-popular keys plus a small hot set touched by most transactions."""
    read_share = rng.uniform(0.4, 0.6)
    hot_keys = list(range(4))
    pick = _zipf_sampler(rng, list(range(100, 10_100)), rng.uniform(0.8, 1.2))
    batch: Workload = []
    for _ in range(BATCH_SIZE):
        ops = [("r" if rng.random() < read_share else "w", pick()) for _ in range(rng.randint(5, 21))]
        if rng.random() < 0.8:
            op = "r" if rng.random() < read_share else "w"
            ops[rng.randrange(len(ops))] = (op, rng.choice(hot_keys))
        batch.append(ops)
    return batch


def _rmw_batch(rng: random.Random) -> Workload:
    """Read-modify-write of a hot key (half the transactions: of two hot keys), padded with work
    that conflicts with nothing."""
    hot_keys = list(range(rng.randint(3, 6)))
    catalog = list(range(100, 150))  # read by many, written by none
    batch: Workload = []
    for t in range(BATCH_SIZE):
        length = rng.randint(5, 21)
        private = 10_000 + 100 * t
        ops: list[Op] = []
        for i in range(length):
            if rng.random() < 0.3:
                ops.append(("r", rng.choice(catalog)))
            else:
                ops.append(("r" if rng.random() < 0.5 else "w", private + i))
        free = list(range(length))
        for key in rng.sample(hot_keys, 2 if rng.random() < 0.5 else 1):
            read_at, write_at = sorted(rng.sample(free, 2))
            ops[read_at], ops[write_at] = ("r", key), ("w", key)
            free.remove(read_at)
            free.remove(write_at)
        batch.append(ops)
    return batch


def _rfwl_batch(rng: random.Random) -> Workload:
    """Reads first, writes last: some writes upgrade a key read earlier, others touch a new key."""
    pick = _zipf_sampler(rng, list(range(1000)), rng.uniform(0.8, 1.2))
    batch: Workload = []
    for _ in range(BATCH_SIZE):
        length = rng.randint(5, 21)
        n_writes = rng.randint(1, max(1, length // 4))
        reads = [pick() for _ in range(length - n_writes)]
        writes = [rng.choice(reads) if rng.random() < 0.5 else pick() for _ in range(n_writes)]
        batch.append([("r", k) for k in reads] + [("w", k) for k in writes])
    return batch


def _edge_batch(rng: random.Random) -> Workload:
    """Odd but legal transactions: all-read ones, one- and two-op blind writes, exact duplicates,
    and transactions that hit one to three keys over and over (read, write, read again)."""
    hot_keys = list(range(4))
    warm_keys = list(range(100, 150))
    batch: Workload = []
    while len(batch) < BATCH_SIZE:
        kind = rng.random()
        if kind < 0.25:
            ops = [("r", rng.choice(hot_keys + warm_keys)) for _ in range(rng.randint(1, 21))]
        elif kind < 0.45:
            ops = [("w", rng.choice(hot_keys)) for _ in range(rng.randint(1, 2))]
        elif kind < 0.6 and batch:
            ops = list(rng.choice(batch))
        else:
            keys = [rng.choice(hot_keys + warm_keys) for _ in range(rng.randint(1, 3))]
            ops = [("r" if rng.random() < 0.6 else "w", rng.choice(keys))
                   for _ in range(rng.randint(5, 21))]
        batch.append(ops)
    return batch


# --------------------------------------------------------------------------- validation and scoring

def validate_order(order: Any, n: int) -> str | None:
    """Why `order` is not a permutation of range(n) (after JSON), or None if it is one."""
    if not isinstance(order, list):
        return f"returned {harness.type_name(order)}, expected a list of transaction indices"
    for position, item in enumerate(order):
        if type(item) is not int:
            return f"entry {position} is {harness.type_name(item)} ({item!r}), expected an int" \
                if isinstance(item, (bool, float)) else \
                f"entry {position} is {harness.type_name(item)}, expected an int"
        if not 0 <= item < n:
            return f"entry {position} is {item}, outside range({n})"
    if len(order) != n:
        return f"order has {len(order)} entries, expected {n}"
    seen: set[int] = set()
    for position, item in enumerate(order):
        if item in seen:
            missing = min(set(range(n)) - set(order))
            return f"index {item} appears twice (again at entry {position}); index {missing} is missing"
        seen.add(item)
    return None


def score_program(program_path: str, workloads: dict[str, Workload], timeout: float,
                  model: str = MODELS[0]) -> dict:
    """Run the candidate on the workloads and score its orders under `model`; never raises for a
    bad candidate."""
    if not Path(program_path).is_file():
        return harness.failure(f"program not found: {program_path}")
    started = time.perf_counter()
    tasks = {name: [workload, model] for name, workload in workloads.items()}
    try:
        answers = harness.solve(program_path, ENTRY_POINT, tasks, timeout, tuples={0: 2},
                                exact=True)
    except harness.CandidateFailure as exc:
        return harness.failure(str(exc), stderr_tail=exc.stderr_tail,
                               timings={"evaluation_seconds": time.perf_counter() - started})
    timings = {"candidate_call_ms": 1000 * sum(a.seconds for a in answers.values()),
               "evaluation_seconds": time.perf_counter() - started}
    spans: dict[str, int] = {}
    for name, workload in workloads.items():
        order = answers[name].answer
        problem = validate_order(order, len(workload))
        if problem is not None:
            return harness.failure(f"workload {name}: {problem}", timings=timings)
        spans[name] = makespan(workload, order, model)
    scores = {name: workload_score(workloads[name], span) for name, span in spans.items()}
    total = sum(spans.values())
    return {
        "combined_score": sum(scores.values()) / len(scores),
        "mean_makespan": total / len(spans),
        "total_makespan": float(total),
        "per_workload": scores,
        "artifacts": {"worst_workloads": _worst_text(workloads, spans, scores),
                      "makespans": ", ".join(f"{n} {s}" for n, s in spans.items())},
        "timings": timings,
    }


def _worst_text(workloads: dict[str, Workload], spans: dict[str, int],
                scores: dict[str, float]) -> str:
    worst = sorted(scores, key=lambda name: (scores[name], name))[:3]
    lines = []
    for name in worst:
        lower, upper = bounds(workloads[name])
        lines.append(f"{name}: makespan {spans[name]} (lower bound {lower}, sequential {upper}), "
                     f"score {scores[name]:.4f}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- entry points

def evaluate(program_path: str, workloads: list[str] | None = None) -> dict:
    """Score the program on the training workloads, or on the named subset of them."""
    settings = load_settings()
    pool = build_workloads(settings.train_seeds)
    try:
        names = harness.select_workloads(workloads, list(pool))
    except ValueError as exc:
        return harness.failure(str(exc))
    return score_program(program_path, {name: pool[name] for name in names},
                         settings.candidate_timeout, settings.model)


def evaluate_heldout(program_path: str) -> dict:
    """Score the program on the held-out workloads (never sent by `evaluate`)."""
    settings = load_settings()
    return score_program(program_path, build_workloads(settings.heldout_seeds),
                         settings.candidate_timeout, settings.model)
