"""Trusted evaluator of deadline-aware spot scheduling across regions (see README.md).

The candidate's Policy runs in a child process that only ever holds the past: this process sends
the spot availability of every region for the current tick, reads back one (region, instance)
decision per simulated job, and only then sends the next tick. Cost, progress and deadlines are
recomputed here from the decisions.
"""

import functools
import importlib.util
import json
import random
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
TICK_S = 600  # one tick is 10 minutes; all times are integer seconds so replays are exact
WORK_S = 48 * 3600
DEADLINE_S = 52 * 3600  # the paper's setting: 48 h job, 52 h deadline, 0.2 h restart overhead
OVERHEAD_S = 720
HORIZON_TICKS = DEADLINE_S // TICK_S
SPOT_PRICE, ON_DEMAND_PRICE = 0.9731, 3.06  # $ per hour, the same in every region
NONE, SPOT, ON_DEMAND = 0, 1, 2
MISS_COST = 10 * WORK_S / 3600 * ON_DEMAND_PRICE  # a missed deadline counts as 10 on-demand jobs
SPREAD_WEIGHT = 0.25
# (mean up-run hours, mean down-run hours) ranges; each trace draws its own means from them.
GOOD, FAIR, POOR = ((5.0, 10.0), (0.3, 1.0)), ((2.0, 5.0), (0.5, 2.0)), ((1.0, 2.5), (1.5, 3.3))
CALM, STORMY = ((10.0, 20.0), (0.5, 1.5)), ((3.0, 6.0), (1.0, 3.0))  # a cloud region's shared state
# A scenario is a list of cloud regions, each with its shared state and its zones. A zone has spot
# when both its cloud region's shared state and its own state are up, so zones of one cloud
# region are correlated. The policy sees zones as "regions" numbered in this order.
SCENARIOS = {
    "z2-same-cloud": [(STORMY, [FAIR, FAIR])],
    "z2-two-clouds": [(CALM, [FAIR]), (CALM, [POOR])],
    "z3-scarce": [(STORMY, [POOR, POOR, FAIR])],
    "z4-mixed": [(CALM, [GOOD, POOR]), (STORMY, [FAIR, POOR])],
    "z6-three-clouds": [(CALM, [FAIR, POOR]), (STORMY, [FAIR, FAIR]), (CALM, [POOR, POOR])],
    "z9-wide": [(STORMY, [POOR, POOR, FAIR]), (CALM, [POOR, FAIR, POOR]),
                (STORMY, [GOOD, POOR, POOR])],
}
MAX_REGIONS = max(sum(len(zones) for _, zones in clouds) for clouds in SCENARIOS.values())
# The frozen baseline (initial.py's knobs), which scores exactly 1.0.
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


def workload_names() -> list[str]:
    return list(SCENARIOS)


def _markov(rng: random.Random, ranges: tuple) -> np.ndarray:
    """0/1 per tick from alternating geometric runs with means drawn from the ranges (hours)."""
    up_h, down_h = rng.uniform(*ranges[0]), rng.uniform(*ranges[1])
    up = rng.random() < up_h / (up_h + down_h)
    ticks: list[int] = []
    while len(ticks) < HORIZON_TICKS:
        mean = (up_h if up else down_h) * 3600 / TICK_S
        ticks.extend([int(up)] * max(1, round(rng.expovariate(1.0 / mean))))
        up = not up
    return np.array(ticks[:HORIZON_TICKS], dtype=np.uint8)


@functools.cache
def availability_traces(scenario: str, seed: int) -> np.ndarray:
    """Spot availability, shape (regions, ticks), 1 = available."""
    rng = random.Random(f"{scenario}:{seed}")
    rows = []
    for shared, zones in SCENARIOS[scenario]:
        cloud = _markov(rng, shared)
        rows.extend(cloud & _markov(rng, zone) for zone in zones)
    out = np.array(rows)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class Sims:
    """The simulated jobs: one per (scenario, trace seed)."""

    labels: list[tuple[str, int]]  # (workload name, trace seed)
    avail: np.ndarray  # (jobs, MAX_REGIONS, ticks) of 0/1; regions a job lacks stay 0
    regions: np.ndarray  # number of regions per job


def build_sims(names: list[str], seeds: list[int]) -> Sims:
    labels = [(name, seed) for name in names for seed in seeds]
    avail = np.zeros((len(labels), MAX_REGIONS, HORIZON_TICKS), dtype=np.uint8)
    regions = []
    for i, (name, seed) in enumerate(labels):
        rows = availability_traces(name, seed)
        avail[i, :len(rows)] = rows
        regions.append(len(rows))
    return Sims(labels, avail, np.array(regions))


# --- the trusted simulator -------------------------------------------------------------------

@dataclass(frozen=True)
class State:
    """Per-job state at the start of a tick, in integer seconds."""

    done: np.ndarray  # progress made
    kind: np.ndarray  # instance that ran during the last tick (NONE, SPOT, ON_DEMAND)
    region: np.ndarray  # where the job is: the region of the last instance that ran (0 at first)
    overhead_left: np.ndarray  # restart overhead still unpaid by the running instance
    spot_s: np.ndarray  # billed spot seconds
    on_demand_s: np.ndarray
    starts: np.ndarray  # instance starts (each pays the restart overhead)
    moves: np.ndarray  # starts in another region than the job was in

    @classmethod
    def initial(cls, n: int) -> "State":
        return cls(*(np.zeros(n, dtype=np.int64) for _ in range(8)))


def step(st: State, region: np.ndarray, d: np.ndarray, avail: np.ndarray,
         active: np.ndarray) -> State:
    """One tick: SPOT runs only if the chosen region has spot now; a start (new type, new region,
    after idling or a preemption) pays the overhead first. `avail` is (jobs, MAX_REGIONS)."""
    here_avail = avail[np.arange(len(d)), region].astype(bool)
    run = active & ((d == ON_DEMAND) | ((d == SPOT) & here_avail))
    kind = np.where(run, d, NONE)
    moved = run & (region != st.region)
    start = run & ((kind != st.kind) | moved)
    overhead = np.where(start, OVERHEAD_S, st.overhead_left)
    used = np.where(run, np.minimum(overhead, TICK_S), 0)
    work = np.where(run, np.minimum(TICK_S - used, WORK_S - st.done), 0)
    billed = used + work  # the tick in which the job finishes is billed only up to the finish
    return State(st.done + work, kind, np.where(run, region, st.region),
                 np.where(run, overhead - used, 0), st.spot_s + np.where(kind == SPOT, billed, 0),
                 st.on_demand_s + np.where(kind == ON_DEMAND, billed, 0), st.starts + start,
                 st.moves + moved)


Decider = Callable[[int, State, np.ndarray], tuple[np.ndarray, np.ndarray]]


def simulate(sims: Sims, decide: Decider) -> State:
    """Run every job tick by tick; decide(tick, state, active) gives (regions, instances)."""
    st = State.initial(len(sims.labels))
    for tick in range(HORIZON_TICKS):
        active = st.done < WORK_S
        if not active.any():
            break
        region, d = decide(tick, st, active)
        st = step(st, region, d, sims.avail[:, :, tick], active)
    return st


def replay_decider(regions: np.ndarray, decisions: np.ndarray) -> Decider:
    """Decisions given in advance as (jobs, ticks) arrays; for tests and hand checks."""
    return lambda tick, st, active: (regions[:, tick], decisions[:, tick])


def reference_decider(sims: Sims) -> Decider:
    """initial.py's policy vectorised over jobs, with the same float arithmetic."""
    n = len(sims.labels)
    committed, probe, rows = np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64), np.arange(n)

    def decide(tick: int, st: State, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nonlocal committed, probe
        avail = sims.avail[:, :, tick].astype(bool)
        here = st.region
        avail_here = avail[rows, here]
        slack = (DEADLINE_S - tick * TICK_S) / 3600 - (WORK_S - st.done) / 3600
        committed = committed | (active & (slack <= OVERHEAD_S / 3600 + REF_MARGIN_H))
        turn = active & ~committed & ~avail_here
        nxt = (probe + 1) % sims.regions
        nxt = np.where(nxt == here, (nxt + 1) % sims.regions, nxt)
        probe = np.where(turn, nxt, probe)
        move = turn & avail[rows, probe]
        target = REF_PACE * (WORK_S / 3600) * (tick * TICK_S / 3600) / (DEADLINE_S / 3600)
        done_h = st.done / 3600
        hold = (done_h < target) | ((st.kind == ON_DEMAND) & (done_h < target + REF_HYSTERESIS_H))
        d = np.where(committed, ON_DEMAND, np.where(avail_here | move, SPOT,
                                                    np.where(hold, ON_DEMAND, NONE)))
        return np.where(move, probe, here), d

    return decide


# --- the candidate's child process -----------------------------------------------------------

DRIVER = r'''
import importlib.util, json, os, sys
from collections import namedtuple

Job = namedtuple("Job", "work_hours deadline_hours overhead_hours tick_hours spot_price "
                 "on_demand_price regions")
Obs = namedtuple("Obs", "tick elapsed_hours work_done_hours work_left_hours time_left_hours "
                 "spot_available region current overhead_left_hours history")


class History:
    """Read-only spot availability (1/0) of one region from tick 0 up to and including now."""
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
        tick_s, work, deadline, overhead = head["tick_seconds"], head["work"], head["deadline"], \
            head["overhead"]
        counts = head["regions"]
        spec = importlib.util.spec_from_file_location("candidate", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        buffers = [[bytearray() for _ in range(k)] for k in counts]
        views = [tuple(History(b) for b in bufs) for bufs in buffers]
        policies = []
        for sim, k in enumerate(counts):
            policies.append(module.Policy(Job(work / 3600, deadline / 3600, overhead / 3600,
                                              tick_s / 3600, *head["prices"], k)))
        state = [[0, 0, 0, 0] for _ in counts]  # progress, instance, region, unpaid overhead (s)
        sim = None
        for tick, line in enumerate(inbox):
            elapsed, out, at = tick * tick_s, [], 0
            for sim, k in enumerate(counts):
                bits = line[at:at + k]
                at += k
                for buf, bit in zip(buffers[sim], bits):
                    buf.append(bit - 48)
                s = state[sim]
                done, current, here, unpaid = s
                if done >= work or elapsed >= deadline:
                    out.append("00")
                    continue
                avail = tuple(bit == 49 for bit in bits)
                if current == 1 and not avail[here]:
                    current, unpaid = 0, 0  # preempted
                d = policies[sim].decide(Obs(tick, elapsed / 3600, done / 3600,
                                             (work - done) / 3600, (deadline - elapsed) / 3600,
                                             avail, here, current, unpaid / 3600, views[sim]))
                if type(d) not in (tuple, list) or len(d) != 2 or type(d[0]) is not int or \
                        type(d[1]) is not int or not 0 <= d[0] < k or not 0 <= d[1] <= 2:
                    raise ValueError(f"decide() returned {d!r:.60}; expected a pair of ints "
                                     f"(region in 0..{k - 1}, 0 NONE / 1 SPOT / 2 ON_DEMAND)")
                region, kind = d
                if kind == 2 or (kind == 1 and avail[region]):
                    if kind != current or region != here:
                        unpaid = overhead
                    used = min(unpaid, tick_s)
                    s[0] = done + min(tick_s - used, work - done)
                    s[1], s[2], s[3] = kind, region, unpaid - used
                else:
                    s[1] = s[3] = 0
                out.append("0123456789"[region] + "012"[kind])
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
    n = len(sims.labels)
    present = np.arange(MAX_REGIONS)[None, :] < sims.regions[:, None]

    def decide(tick: int, st: State, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        line = (sims.avail[:, :, tick] + 48)[present].astype(np.uint8).tobytes() + b"\n"
        answer = child.exchange(line)
        if answer.startswith(b"!"):
            raise CandidateError(_driver_report(answer.decode("utf-8", "replace"), sims))
        raw = np.frombuffer(answer, dtype=np.uint8)
        if raw.size != 2 * n:
            raise CandidateError(f"tick {tick}: {raw.size} bytes for {n} jobs (2 per job)")
        region, d = raw[0::2].astype(np.int64) - 48, raw[1::2].astype(np.int64) - 48
        bad = np.flatnonzero((region < 0) | (region >= sims.regions) | (d < 0) | (d > 2))
        if bad.size:
            name, seed = sims.labels[bad[0]]
            raise CandidateError(f"workload {name} (trace seed {seed}), tick {tick}: invalid "
                                 f"decision bytes {bytes(raw[2 * bad[0]:2 * bad[0] + 2])!r}")
        return region, d

    return decide


def run_candidate(program_path: str, sims: Sims, timeout_s: float) -> State:
    header = {"tick_seconds": TICK_S, "work": WORK_S, "deadline": DEADLINE_S,
              "overhead": OVERHEAD_S, "prices": [SPOT_PRICE, ON_DEMAND_PRICE],
              "regions": [int(k) for k in sims.regions]}
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
        where = "" if sim is None else "workload %s (trace seed %d), " % sims.labels[sim]
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
    for name in sorted(per_workload, key=per_workload.get)[:3]:
        m = np.flatnonzero(masks[name])
        worst = m[np.argmax(np.where(met[m], cost[m], MISS_COST))]
        lines.append(f"{name}: score {per_workload[name]:.3f}, mean cost ${cost[m].mean():.2f} "
                     f"(baseline ${ref_cost[m].mean():.2f}), misses {int((~met[m]).sum())}/"
                     f"{m.size}, moves {st.moves[m].mean():.1f} (baseline "
                     f"{ref.moves[m].mean():.1f}); worst trace seed {sims.labels[worst][1]}: "
                     f"${cost[worst]:.2f}{'' if met[worst] else ' MISSED'} "
                     f"(baseline ${ref_cost[worst]:.2f})")
    missed = [f"{sims.labels[i][0]} seed {sims.labels[i][1]}: {st.done[i] / 3600:.2f} of "
              f"{WORK_S / 3600:g} h done" for i in np.flatnonzero(~met)]
    value, ref_value = penalised(cost, met), penalised(ref_cost, ref_met)
    artifacts = {"worst_workloads": "\n".join(lines)}
    if missed:
        artifacts["deadline_misses"] = "\n".join(missed[:10]) + (
            f"\n... and {len(missed) - 10} more" if len(missed) > 10 else "")
    return {"combined_score": ref_value / value, "penalised_cost": value,
            "baseline_penalised_cost": ref_value, "mean_cost": float(cost.mean()),
            "std_cost": float(cost.std()), "baseline_mean_cost": float(ref_cost.mean()),
            "deadline_misses": int((~met).sum()), "simulations": int(met.size),
            "mean_starts": float(st.starts.mean()), "mean_moves": float(st.moves.mean()),
            "mean_spot_hours": float(st.spot_s.mean() / 3600),
            "mean_on_demand_hours": float(st.on_demand_s.mean() / 3600),
            "per_workload": per_workload, "artifacts": artifacts}


def _evaluate(program_path: str, names: list[str], seeds: list[int]) -> dict:
    started = time.perf_counter()
    sims = build_sims(names, seeds)
    try:
        st = run_candidate(program_path, sims, float(_config()["candidate"]["timeout_seconds"]))
    except CandidateError as exc:
        return harness.failure(str(exc), stderr_tail=exc.stderr_tail,
                               timings={"total_seconds": time.perf_counter() - started})
    candidate_s = time.perf_counter() - started
    result = score(sims, st, simulate(sims, reference_decider(sims)))
    result["timings"] = {"candidate_seconds": candidate_s,
                         "total_seconds": time.perf_counter() - started}
    return result


def evaluate(program_path: str, workloads: list[str] | None = None) -> dict:
    """Score on the training traces; `workloads` picks a subset of scenarios by name."""
    try:
        names = harness.select_workloads(workloads, workload_names())
    except ValueError as exc:
        return harness.failure(str(exc))
    return _evaluate(program_path, names, list(_config()["workloads"]["train_seeds"]))


def evaluate_heldout(program_path: str) -> dict:
    """Score on the held-out traces (the same scenarios with other trace seeds)."""
    return _evaluate(program_path, workload_names(), list(_config()["workloads"]["heldout_seeds"]))
