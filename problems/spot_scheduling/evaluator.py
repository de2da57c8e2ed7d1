"""Trusted evaluator of deadline-aware spot scheduling in one region (see README.md).

The candidate's Policy runs in a child process that only ever holds the past: this process sends
the spot availability of the current tick, reads back one decision per simulated job, and only
then sends the next tick. Cost, progress and deadlines are recomputed here from the decisions.
"""

import functools
import importlib.util
import json
import random
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

HERE = Path(__file__).resolve().parent


def _load_sibling(module: str) -> ModuleType:
    """A sibling module, loaded by path: the folder works wherever it is copied, and problems
    loaded side by side in one process each keep their own copy."""
    name = f"{__name__}.{module}"
    spec = importlib.util.spec_from_file_location(name, HERE / f"{module}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded  # dataclasses look their module up by name
    spec.loader.exec_module(loaded)
    return loaded


spot_traces = _load_sibling("spot_traces")  # the trace laws and the public trace format
TICK_S = spot_traces.TICK_S  # 10 minutes; all times are integer seconds so replays are exact
WORK_S = 48 * 3600
DEADLINES_H = (52, 70, 92)
OVERHEADS_S = (72, 720, 1440)  # 0.02, 0.2 and 0.4 h
HORIZON_TICKS = max(DEADLINES_H) * 3600 // TICK_S
SPOT_PRICE, ON_DEMAND_PRICE = 0.9731, 3.06  # $ per hour
NONE, SPOT, ON_DEMAND = 0, 1, 2
MISS_COST = 10 * WORK_S / 3600 * ON_DEMAND_PRICE  # a missed deadline counts as 10 on-demand jobs
SPREAD_WEIGHT = 0.25
MAX_TRACES = 30  # real traces per zone and split, as many as the synthetic seeds
# The frozen Uniform Progress baseline (initial.py's knobs), which scores exactly 1.0.
REF_MARGIN_H, REF_PACE, REF_HYSTERESIS_H = 0.5, 1.0, 1.0


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
CandidateError = harness.CandidateFailure  # the candidate failed or answered wrongly (one line)


# --- workloads -------------------------------------------------------------------------------

@functools.cache
def _config() -> dict:
    return tomllib.loads((HERE / "problem.toml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class TraceSet:
    """The availability traces of one split: environment -> [(trace id, trace name, trace)]."""

    source: str  # which data the figures come from, for reports
    by_env: dict[str, list[tuple[int, str, np.ndarray]]]


def trace_set(split: str) -> TraceSet:
    """The traces of `split` ("train" or "heldout"): the seeded synthetic ones, or the real ones
    in $ADRS_DATA_DIR (one folder per zone, split per zone by a seeded shuffle of the files). An
    unusable file raises spot_traces.TraceError, whose one-line message names it."""
    root = spot_traces.data_dir()
    return _real_traces(root, split) if root else _synthetic_traces(split)


@functools.cache
def _synthetic_traces(split: str) -> TraceSet:
    seeds = list(_config()["workloads"][f"{split}_seeds"])
    return TraceSet(f"synthetic: {len(spot_traces.ZONES)} zone laws calibrated to real AWS "
                    f"us-west-2 traces (spot_traces.py), {split} seeds {seeds[0]}-{seeds[-1]}",
                    {env: [(seed, f"seed {seed}", availability_trace(env, seed)) for seed in seeds]
                     for env in spot_traces.ZONES})


@functools.cache
def _real_traces(root: Path, split: str) -> TraceSet:
    zones = spot_traces.read_zones(root, HORIZON_TICKS)
    by_env = {}
    for zone, traces in zones.items():
        names = spot_traces.split(list(traces), zone, MAX_TRACES)[split == "heldout"]
        if not names:
            raise spot_traces.TraceError(f"{root / zone}: too few traces for a {split} "
                                         "split (need at least 2 files per zone)")
        index = list(traces)
        by_env[zone] = [(index.index(n), f"{zone}/{n}", traces[n]) for n in names]
    count = sum(len(v) for v in by_env.values())
    return TraceSet(f"{spot_traces.DATA_ENV}={root}: {len(by_env)} zones, {count} {split} traces",
                    by_env)


def workload_names(traces: TraceSet | None = None) -> list[str]:
    envs = (traces or trace_set("train")).by_env
    return [f"{env}-d{d}-r{r / 3600:g}" for env in envs for d in DEADLINES_H for r in OVERHEADS_S]


@functools.cache
def availability_trace(env: str, seed: int) -> np.ndarray:
    """Synthetic spot availability (1 = available) per tick over the longest deadline."""
    trace = spot_traces.ZONES[env].draw(random.Random(f"{env}:{seed}"), HORIZON_TICKS)
    trace.flags.writeable = False
    return trace


@dataclass(frozen=True)
class Sims:
    """The simulated jobs: one per (workload, trace), sharing availability rows."""

    labels: list[tuple[str, int]]  # (workload name, trace id: the seed, or a real file's index)
    avail: np.ndarray  # (traces, ticks) of 0/1
    trace: np.ndarray  # row of `avail` per job
    deadline_s: np.ndarray
    overhead_s: np.ndarray
    trace_names: tuple[str, ...] = ()  # per job, how reports name its trace


def build_sims(names: list[str], traces: TraceSet) -> Sims:
    keys: dict[tuple[str, int], int] = {}
    rows, labels, trace, deadline, overhead, trace_names = [], [], [], [], [], []
    for name in names:
        env, d, r = name.rsplit("-", 2)
        for ident, label, row in traces.by_env[env]:
            if (env, ident) not in keys:
                keys[(env, ident)] = len(rows)
                rows.append(row)
            labels.append((name, ident))
            trace.append(keys[(env, ident)])
            trace_names.append(label)
            deadline.append(int(d[1:]) * 3600)
            overhead.append(round(float(r[1:]) * 3600))
    return Sims(labels, np.array(rows), np.array(trace), np.array(deadline), np.array(overhead),
                tuple(trace_names))


# --- the trusted simulator -------------------------------------------------------------------

@dataclass(frozen=True)
class State:
    """Per-job state at the start of a tick, in integer seconds."""

    done: np.ndarray  # progress made
    kind: np.ndarray  # instance that ran during the last tick (NONE, SPOT, ON_DEMAND)
    overhead_left: np.ndarray  # restart overhead still unpaid by the running instance
    spot_s: np.ndarray  # billed spot seconds
    on_demand_s: np.ndarray
    starts: np.ndarray  # instance starts (each pays the restart overhead)

    @classmethod
    def initial(cls, n: int) -> "State":
        return cls(*(np.zeros(n, dtype=np.int64) for _ in range(6)))


def step(st: State, d: np.ndarray, avail: np.ndarray, active: np.ndarray,
         overhead_s: np.ndarray) -> State:
    """One tick: SPOT runs only if spot is available now; a new start pays the overhead first."""
    run = active & ((d == ON_DEMAND) | ((d == SPOT) & avail))
    kind = np.where(run, d, NONE)
    start = run & (kind != st.kind)  # after NONE, a preemption, or a change of type
    overhead = np.where(start, overhead_s, st.overhead_left)
    used = np.where(run, np.minimum(overhead, TICK_S), 0)
    work = np.where(run, np.minimum(TICK_S - used, WORK_S - st.done), 0)
    billed = used + work  # the tick in which the job finishes is billed only up to the finish
    return State(st.done + work, kind, np.where(run, overhead - used, 0),
                 st.spot_s + np.where(kind == SPOT, billed, 0),
                 st.on_demand_s + np.where(kind == ON_DEMAND, billed, 0), st.starts + start)


Decider = Callable[[int, State, np.ndarray], np.ndarray]


def simulate(sims: Sims, decide: Decider) -> State:
    """Run every job tick by tick; decide(tick, state, active) gives one decision per job."""
    st = State.initial(len(sims.trace))
    deadline_ticks = sims.deadline_s // TICK_S
    for tick in range(int(deadline_ticks.max())):
        active = (st.done < WORK_S) & (tick < deadline_ticks)
        if not active.any():
            break
        d = decide(tick, st, active)
        st = step(st, d, sims.avail[sims.trace, tick].astype(bool), active, sims.overhead_s)
    return st


def replay_decider(decisions: np.ndarray) -> Decider:
    """Decisions given in advance as a (jobs, ticks) array; for tests and hand checks."""
    return lambda tick, st, active: decisions[:, tick]


def reference_decider(sims: Sims) -> Decider:
    """Uniform Progress with initial.py's knobs, vectorised over jobs, same float arithmetic."""
    committed = np.zeros(len(sims.trace), dtype=bool)
    deadline_h, overhead_h = sims.deadline_s / 3600, sims.overhead_s / 3600

    def decide(tick: int, st: State, active: np.ndarray) -> np.ndarray:
        nonlocal committed
        avail = sims.avail[sims.trace, tick].astype(bool)
        slack = (sims.deadline_s - tick * TICK_S) / 3600 - (WORK_S - st.done) / 3600
        committed = committed | (active & (slack <= overhead_h + REF_MARGIN_H))
        target = REF_PACE * (WORK_S / 3600) * (tick * TICK_S / 3600) / deadline_h
        done_h = st.done / 3600
        hold = (done_h < target) | ((st.kind == ON_DEMAND) & (done_h < target + REF_HYSTERESIS_H))
        fallback = np.where(hold, ON_DEMAND, NONE)  # on-demand is never preempted
        return np.where(committed, ON_DEMAND, np.where(avail, SPOT, fallback))

    return decide


# --- the candidate's child process -----------------------------------------------------------

DRIVER = r'''
import importlib.util, json, os, sys
from collections import namedtuple

Job = namedtuple("Job", "work_hours deadline_hours overhead_hours tick_hours spot_price "
                 "on_demand_price")
Obs = namedtuple("Obs", "tick elapsed_hours work_done_hours work_left_hours time_left_hours "
                 "spot_available current overhead_left_hours history")


class History:
    """Read-only spot availability (1/0) from tick 0 up to and including the current tick."""
    __slots__ = ("_ticks",)

    def __init__(self, ticks):
        self._ticks = ticks

    def __len__(self):
        return len(self._ticks)

    def __getitem__(self, index):
        item = self._ticks[index]
        return tuple(item) if isinstance(index, slice) else item

    def __iter__(self):
        return iter(bytes(self._ticks))

    def __repr__(self):
        return f"History({len(self._ticks)} ticks)"


def run(inbox, answer, path):
    sim = tick = None
    try:
        head = json.loads(inbox.readline())
        tick_s, sims = head["tick_seconds"], head["sims"]
        spec = importlib.util.spec_from_file_location("candidate", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        buffers = [bytearray() for _ in range(head["traces"])]
        views = [History(b) for b in buffers]
        policies = []
        for sim, (_, work, deadline, overhead) in enumerate(sims):
            policies.append(module.Policy(Job(work / 3600, deadline / 3600, overhead / 3600,
                                              tick_s / 3600, *head["prices"])))
        state = [[0, 0, 0] for _ in sims]  # progress, running instance, unpaid overhead (s)
        sim = None
        for tick, line in enumerate(inbox):
            now = line.rstrip(b"\n")
            for buf, bit in zip(buffers, now):
                buf.append(bit - 48)
            elapsed, out = tick * tick_s, []
            for sim, (trace, work, deadline, overhead) in enumerate(sims):
                s = state[sim]
                done, current, unpaid = s
                if done >= work or elapsed >= deadline:
                    out.append("0")
                    continue
                avail = now[trace] == 49
                if current == 1 and not avail:
                    current, unpaid = 0, 0  # preempted
                d = policies[sim].decide(Obs(tick, elapsed / 3600, done / 3600,
                                             (work - done) / 3600, (deadline - elapsed) / 3600,
                                             avail, current, unpaid / 3600, views[trace]))
                if type(d) is not int or not 0 <= d <= 2:
                    raise ValueError(f"decide() returned {d!r:.40}; expected the int 0 (NONE), "
                                     "1 (SPOT) or 2 (ON_DEMAND)")
                if d == 2 or (d == 1 and avail):
                    if d != current:
                        unpaid = overhead
                    used = min(unpaid, tick_s)
                    s[0] = done + min(tick_s - used, work - done)
                    s[1], s[2] = d, unpaid - used
                else:
                    s[1] = s[2] = 0
                out.append("012"[d])
            sim = None
            answer.write("".join(out) + "\n")
            answer.flush()
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500]
        answer.write("!" + json.dumps({"sim": sim, "tick": tick, "message": message}) + "\n")
        answer.flush()
        os._exit(1)


answer = os.fdopen(os.dup(1), "w")  # the answer channel, taken before the candidate is imported
inbox = os.fdopen(os.dup(0), "rb")
os.dup2(2, 1)  # candidate prints go to stderr
sys.stdout = sys.stderr
run(inbox, answer, sys.argv[1])
'''


def child_decider(child: harness.Child, sims: Sims) -> Decider:
    """Ask the child for each tick; validate the answer strictly before it is used."""
    n = len(sims.trace)

    def decide(tick: int, st: State, active: np.ndarray) -> np.ndarray:
        line = (sims.avail[:, tick] + 48).astype(np.uint8).tobytes() + b"\n"
        answer = child.exchange(line)
        if answer.startswith(b"!"):
            raise CandidateError(_driver_report(answer.decode("utf-8", "replace"), sims))
        raw = np.frombuffer(answer, dtype=np.uint8)
        if raw.size != n:
            raise CandidateError(f"tick {tick}: {raw.size} decisions for {n} jobs")
        bad = np.flatnonzero((raw < 48) | (raw > 50))
        if bad.size:
            name, seed = sims.labels[bad[0]]
            raise CandidateError(f"workload {name} (trace seed {seed}), tick {tick}: "
                                 f"invalid decision byte {bytes(raw[bad[:1]])!r}")
        return raw.astype(np.int64) - 48

    return decide


def run_candidate(program_path: str, sims: Sims, timeout_s: float) -> State:
    header = {"tick_seconds": TICK_S, "traces": len(sims.avail),
              "prices": [SPOT_PRICE, ON_DEMAND_PRICE],
              "sims": [[int(t), WORK_S, int(d), int(r)]
                       for t, d, r in zip(sims.trace, sims.deadline_s, sims.overhead_s)]}
    child = harness.Child(harness.python_argv(DRIVER, program_path), timeout_s)
    try:
        child.send(json.dumps(header).encode() + b"\n")
        return simulate(sims, child_decider(child, sims))
    finally:
        child.close()


def _driver_report(text: str, sims: Sims) -> str:
    """The driver's error report (a "!" and JSON), naming the job it was simulating."""
    try:
        info = json.loads(text[1:])
        sim, tick, message = info["sim"], info["tick"], str(info["message"])[:500]
        where = "" if sim is None else "workload {} (trace {}), ".format(*sims.labels[sim])
        at = "" if tick is None else f"tick {int(tick)}: "
    except (ValueError, KeyError, TypeError, IndexError):
        return f"malformed report from the candidate's process: {text[:200]}"
    return f"{where}{at}{message}"


# --- scoring ---------------------------------------------------------------------------------

def costs(st: State) -> np.ndarray:
    return (st.spot_s * SPOT_PRICE + st.on_demand_s * ON_DEMAND_PRICE) / 3600


def penalised(cost: np.ndarray, met: np.ndarray) -> float:
    """Mean + 0.25 std of the cost, a missed deadline counting as MISS_COST."""
    eff = np.where(met, cost, MISS_COST)
    return float(eff.mean() + SPREAD_WEIGHT * eff.std())


def score(sims: Sims, st: State, ref: State) -> dict:
    cost, ref_cost = costs(st), costs(ref)
    met, ref_met = st.done >= WORK_S, ref.done >= WORK_S
    names = [name for name, _ in sims.labels]
    masks = {name: np.array([n == name for n in names]) for name in dict.fromkeys(names)}
    per_workload = {name: penalised(ref_cost[m], ref_met[m]) / penalised(cost[m], met[m])
                    for name, m in masks.items()}
    lines = []
    for name in sorted(per_workload, key=per_workload.get)[:5]:
        m = np.flatnonzero(masks[name])
        worst = m[np.argmax(np.where(met[m], cost[m], MISS_COST))]
        lines.append(f"{name}: score {per_workload[name]:.3f}, mean cost ${cost[m].mean():.2f} "
                     f"(baseline ${ref_cost[m].mean():.2f}), misses {int((~met[m]).sum())}/"
                     f"{m.size}; worst trace {sims.trace_names[worst]}: ${cost[worst]:.2f}"
                     f"{'' if met[worst] else ' MISSED'} (baseline ${ref_cost[worst]:.2f})")
    missed = [f"{sims.labels[i][0]} {sims.trace_names[i]}: {st.done[i] / 3600:.2f} of "
              f"{WORK_S / 3600:g} h done" for i in np.flatnonzero(~met)]
    value, ref_value = penalised(cost, met), penalised(ref_cost, ref_met)
    metrics = {"combined_score": ref_value / value, "penalised_cost": value,
               "baseline_penalised_cost": ref_value, "mean_cost": float(cost.mean()),
               "std_cost": float(cost.std()), "baseline_mean_cost": float(ref_cost.mean()),
               "deadline_misses": int((~met).sum()), "simulations": int(met.size),
               "mean_starts": float(st.starts.mean()),
               "mean_spot_hours": float(st.spot_s.mean() / 3600),
               "mean_on_demand_hours": float(st.on_demand_s.mean() / 3600)}
    for d in DEADLINES_H:
        m = sims.deadline_s == d * 3600
        if m.any():
            metrics[f"mean_cost_d{d}"] = float(cost[m].mean())
    artifacts = {"worst_workloads": "\n".join(lines)}
    if missed:
        artifacts["deadline_misses"] = "\n".join(missed[:10]) + (
            f"\n... and {len(missed) - 10} more" if len(missed) > 10 else "")
    return {**metrics, "per_workload": per_workload, "artifacts": artifacts}


def _evaluate(program_path: str, names: list[str], traces: TraceSet) -> dict:
    started = time.perf_counter()
    sims = build_sims(names, traces)
    try:
        st = run_candidate(program_path, sims, float(_config()["candidate"]["timeout_seconds"]))
    except CandidateError as exc:
        return harness.failure(str(exc), stderr_tail=exc.stderr_tail,
                               timings={"total_seconds": time.perf_counter() - started})
    candidate_s = time.perf_counter() - started
    result = score(sims, st, simulate(sims, reference_decider(sims)))
    result["artifacts"]["data_source"] = traces.source
    result["timings"] = {"candidate_seconds": candidate_s,
                         "total_seconds": time.perf_counter() - started}
    return result


def evaluate(program_path: str, workloads: list[str] | None = None) -> dict:
    """Score on the training traces; `workloads` picks a subset by name."""
    valid = workload_names()  # outside the try: a bad data file raises its own one-line error
    try:
        names = harness.select_workloads(workloads, valid)
    except ValueError as exc:
        return harness.failure(str(exc))
    return _evaluate(program_path, names, trace_set("train"))


def evaluate_heldout(program_path: str) -> dict:
    """Score on the held-out traces (the same workloads with other traces)."""
    return _evaluate(program_path, workload_names(), trace_set("heldout"))
