"""Trusted evaluator of the transaction-scheduling problem.

The candidate program runs in a child process and only returns an order per workload; this module
generates the workloads, validates each order strictly and recomputes every figure itself with an
exact simulator of strict two-phase locking (see README.md for the model). Standard library only.
"""

import json
import os
import random
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Op = tuple[str, int]
Workload = list[list[Op]]

HERE = Path(__file__).resolve().parent
FAMILIES = ("zipf", "rmw", "rfwl", "edge")
BATCH_SIZE = 100
STDERR_KEEP = 2000  # characters of the child's stderr kept for error messages


# --------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class Settings:
    """What problem.toml says about workloads and the candidate's time budget."""

    train_seeds: tuple[int, ...]
    heldout_seeds: tuple[int, ...]
    candidate_timeout: float


def load_settings(path: Path = HERE / "problem.toml") -> Settings:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    seeds = data["workloads"]
    return Settings(train_seeds=tuple(int(s) for s in seeds["train_seeds"]),
                    heldout_seeds=tuple(int(s) for s in seeds["heldout_seeds"]),
                    candidate_timeout=float(data["candidate"]["timeout_seconds"]))


# --------------------------------------------------------------------------- the model

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


def start_times(workload: Workload, order: list[int]) -> list[int]:
    """Start time of each transaction of `order` (same positions), admitted one by one.

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


def makespan(workload: Workload, order: list[int]) -> int:
    """Largest commit time of the schedule (0 for an empty batch)."""
    starts = start_times(workload, order)
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
    """Read-modify-write of one hot key per transaction, padded with work that conflicts with nothing."""
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
        key = rng.choice(hot_keys)
        read_at = rng.randrange(length - 1)
        ops[read_at] = ("r", key)
        ops[rng.randrange(read_at + 1, length)] = ("w", key)
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


# --------------------------------------------------------------------------- the candidate's child process

# Runs as `python -I -c DRIVER <program>`. The answer goes to a copy of the original stdout taken
# before the candidate is imported; fd 1 then points at stderr, so the candidate's prints land there.
DRIVER = r"""
import importlib.util, json, os, sys, traceback

def kind(value):
    module = type(value).__module__
    name = type(value).__qualname__
    return {"__type__": name if module == "builtins" else module + "." + name}

def encode(result):
    if type(result) is not list:
        return kind(result)
    return [item if type(item) in (int, bool, float) else kind(item) for item in result]

def last_line(exc):
    return traceback.format_exception_only(type(exc), exc)[-1].strip()

def main():
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    request = json.load(sys.stdin)
    where = "while importing the program"
    try:
        spec = importlib.util.spec_from_file_location("candidate", sys.argv[1])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        orders = {}
        for name, txns in request.items():
            where = "on workload " + name
            batch = [[(op, key) for op, key in ops] for ops in txns]
            orders[name] = encode(module.schedule(batch))
    except BaseException as exc:
        traceback.print_exc()
        answer.write(json.dumps({"crash": where + ": " + last_line(exc)}))
        answer.close()
        sys.exit(1)
    answer.write(json.dumps({"orders": orders}))
    answer.close()

main()
"""


@dataclass(frozen=True)
class ChildResult:
    orders: dict[str, Any] | None
    error: str | None
    stderr_tail: str
    seconds: float


def candidate_command(argv: list[str]) -> list[str]:
    """argv behind the jail adrs's sandbox offers in $ADRS_CANDIDATE_PREFIX (a JSON argv) so the
    candidate cannot read this folder; unchanged when the variable is unset (standalone runs)."""
    prefix = json.loads(os.environ.get("ADRS_CANDIDATE_PREFIX") or "[]")
    return [str(part) for part in prefix] + argv


def run_candidate(program_path: str, workloads: dict[str, Workload], timeout: float) -> ChildResult:
    """Run the candidate on the workloads in a child process; its orders, or why there are none."""
    payload = json.dumps(workloads)
    began = time.perf_counter()
    try:
        done = subprocess.run(candidate_command([sys.executable, "-I", "-c", DRIVER, program_path]),
                              input=payload, capture_output=True, encoding="utf-8",
                              errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return ChildResult(None, f"timed out after {timeout:g} s", _tail(exc.stderr),
                           time.perf_counter() - began)
    seconds = time.perf_counter() - began
    tail = _tail(done.stderr)
    try:
        answer = json.loads(done.stdout) if done.stdout.strip() else None
    except json.JSONDecodeError:
        return ChildResult(None, "the program's answer is not valid JSON", tail, seconds)
    if isinstance(answer, dict) and isinstance(answer.get("crash"), str):
        return ChildResult(None, f"crashed {answer['crash']}"[:500], tail, seconds)
    if done.returncode != 0 or answer is None:
        last = tail.strip().splitlines()[-1] if tail.strip() else "no output"
        return ChildResult(None, f"crashed (exit code {done.returncode}): {last}"[:500], tail, seconds)
    if not isinstance(answer, dict) or not isinstance(answer.get("orders"), dict):
        return ChildResult(None, "the program's answer has no orders", tail, seconds)
    return ChildResult(answer["orders"], None, tail, seconds)


def _tail(stream: str | bytes | None) -> str:
    if stream is None:
        return ""
    text = stream.decode("utf-8", "replace") if isinstance(stream, bytes) else stream
    return text[-STDERR_KEEP:]


# --------------------------------------------------------------------------- validation and scoring

def validate_order(order: Any, n: int) -> str | None:
    """Why `order` is not a permutation of range(n) (after JSON), or None if it is one."""
    if not isinstance(order, list):
        return f"returned {_type_name(order)}, expected a list of transaction indices"
    for position, item in enumerate(order):
        if type(item) is not int:
            return f"entry {position} is {_type_name(item)} ({item!r}), expected an int" \
                if isinstance(item, (bool, float)) else \
                f"entry {position} is {_type_name(item)}, expected an int"
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


def _type_name(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("__type__"), str):
        # The driver's note about a value JSON cannot carry: "tuple", "numpy.int64", ...
        name = value["__type__"]
        return name if "." in name else f"a {name}"
    return {bool: "a bool", float: "a float", str: "a str", dict: "a dict", list: "a list",
            type(None): "None"}.get(type(value), type(value).__name__)


def _failure(error: str, seconds: float = 0.0, stderr_tail: str = "") -> dict:
    result: dict[str, Any] = {"combined_score": 0.0, "error": error,
                              "timings": {"candidate_seconds": seconds}}
    if stderr_tail:
        result["artifacts"] = {"stderr": stderr_tail}
    return result


def score_program(program_path: str, workloads: dict[str, Workload], timeout: float) -> dict:
    """Run the candidate on the workloads and score its orders; never raises for a bad candidate."""
    if not Path(program_path).is_file():
        return _failure(f"program not found: {program_path}")
    child = run_candidate(program_path, workloads, timeout)
    if child.error is not None or child.orders is None:
        return _failure(child.error or "no orders", child.seconds, child.stderr_tail)
    spans: dict[str, int] = {}
    for name, workload in workloads.items():
        if name not in child.orders:
            return _failure(f"workload {name}: no order returned", child.seconds, child.stderr_tail)
        problem = validate_order(child.orders[name], len(workload))
        if problem is not None:
            return _failure(f"workload {name}: {problem}", child.seconds, child.stderr_tail)
        spans[name] = makespan(workload, child.orders[name])
    scores = {name: workload_score(workloads[name], span) for name, span in spans.items()}
    total = sum(spans.values())
    return {
        "combined_score": sum(scores.values()) / len(scores),
        "mean_makespan": total / len(spans),
        "total_makespan": float(total),
        "per_workload": scores,
        "artifacts": {"worst_workloads": _worst_text(workloads, spans, scores),
                      "makespans": ", ".join(f"{n} {s}" for n, s in spans.items())},
        "timings": {"candidate_seconds": child.seconds},
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
    if isinstance(workloads, str):
        workloads = [workloads]  # one name given bare
    if workloads is not None:
        unknown = [name for name in workloads if name not in pool]
        if unknown:
            return _failure(f"unknown workload(s) {', '.join(map(str, unknown))}; "
                            f"valid: {', '.join(pool)}")
        if not workloads:
            return _failure(f"no workloads selected; valid: {', '.join(pool)}")
        pool = {name: pool[name] for name in dict.fromkeys(workloads)}
    return score_program(program_path, pool, settings.candidate_timeout)


def evaluate_heldout(program_path: str) -> dict:
    """Score the program on the held-out workloads (never sent by `evaluate`)."""
    settings = load_settings()
    return score_program(program_path, build_workloads(settings.heldout_seeds),
                         settings.candidate_timeout)
