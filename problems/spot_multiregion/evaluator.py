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
DEADLINE_S = 52 * 3600  # the paper's setting: 48 h job, 52 h deadline, 0.2 h restart overhead
OVERHEAD_S = 720
HORIZON_TICKS = DEADLINE_S // TICK_S
SPOT_PRICE, ON_DEMAND_PRICE = 0.9731, 3.06  # $ per hour, the same in every region
NONE, SPOT, ON_DEMAND = 0, 1, 2
MISS_COST = 10 * WORK_S / 3600 * ON_DEMAND_PRICE  # a missed deadline counts as 10 on-demand jobs
SPREAD_WEIGHT = 0.25
# Zones follow the laws of spot_traces.ZONES, calibrated to real AWS zones. Zones of one cloud
# region are correlated: the region has capacity crunches (multi-hour outages hitting all of its
# zones), and a zone has spot when its own law and its region are both up. A cloud region with a
# single zone adds nothing to its zone's law (that law already holds the zone's outages).
CRUNCH = spot_traces.Law(up_h=30.0, gap_share=0.0, gap_h=0.0, outage_h=3.0)
# A scenario is a list of cloud regions, each a list of zone laws; the policy sees the zones as
# "regions" numbered in this order. The shapes follow the public multi-region evaluator's six
# scenarios (2 to 9 zones in 1 to 3 cloud regions), each with a mix of good and poor zones.
SCENARIOS = {
    "z2-same-region": [["2b-k80", "2a-v100"]],
    "z2-two-regions": [["2b-v100"], ["2a-k80"]],
    "z3-three-regions": [["2b-k80"], ["2b-v100"], ["2a-k80"]],
    "z3-same-region": [["2b-k80", "2b-v100", "2a-k80"]],
    "z5-three-regions": [["2b-k80", "2b-v100"], ["2b-k80", "2a-v100"], ["2a-k80"]],
    "z9-three-regions": [["2b-k80", "2b-v100"], ["2a-v100", "2b-k80", "2b-v100"],
                         ["2b-k80", "2a-k80", "2b-v100", "2b-k80"]],
}
MAX_REGIONS = 10  # the decision protocol writes a region as one digit
MAX_TRACES = 30  # real trace windows per scenario and split, as many as the synthetic seeds
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


def scenario_zones(scenario: str) -> list[str]:
    """The zone laws of a synthetic scenario, in region index order."""
    return [zone for cloud in SCENARIOS[scenario] for zone in cloud]


@functools.cache
def availability_traces(scenario: str, seed: int) -> np.ndarray:
    """Synthetic spot availability, shape (regions, ticks), 1 = available."""
    rng = random.Random(f"{scenario}:{seed}")
    rows = []
    for cloud in SCENARIOS[scenario]:
        up = CRUNCH.draw(rng, HORIZON_TICKS) if len(cloud) > 1 else 1
        rows.extend(up & spot_traces.ZONES[zone].draw(rng, HORIZON_TICKS) for zone in cloud)
    out = np.array(rows)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class TraceSet:
    """The availability of one split: scenario -> [(trace id, trace name, (regions, ticks))]."""

    source: str  # which data the figures come from, for reports
    by_scenario: dict[str, list[tuple[int, str, np.ndarray]]]


def trace_set(split: str) -> TraceSet:
    """The traces of `split` ("train" or "heldout"): the seeded synthetic ones, or the real ones
    in $ADRS_DATA_DIR (see README.md: one folder per zone, files of one name aligned in time). An
    unusable file raises spot_traces.TraceError, whose one-line message names it."""
    root = spot_traces.data_dir()
    return _real_traces(root, split) if root else _synthetic_traces(split)


@functools.cache
def _synthetic_traces(split: str) -> TraceSet:
    seeds = list(_config()["workloads"][f"{split}_seeds"])
    return TraceSet(f"synthetic: zones of {len(spot_traces.ZONES)} laws calibrated to real AWS "
                    f"us-west-2 traces (spot_traces.py), {split} seeds {seeds[0]}-{seeds[-1]}",
                    {name: [(seed, f"seed {seed}", availability_traces(name, seed))
                            for seed in seeds] for name in SCENARIOS})


@functools.cache
def _real_traces(root: Path, split: str) -> TraceSet:
    zones = spot_traces.read_zones(root, HORIZON_TICKS)
    by_scenario = {}
    for name, members in spot_traces.read_scenarios(root, list(zones), MAX_REGIONS).items():
        common = sorted(set.intersection(*(set(zones[z]) for z in members)))
        names = spot_traces.split(common, name, MAX_TRACES)[split == "heldout"]
        if not names:
            raise spot_traces.TraceError(
                f"{root}: scenario {name} has {len(common)} trace files present in all of its "
                f"zones; a {split} split needs at least 2")
        by_scenario[name] = [(i, n, np.array([zones[z][n] for z in members]))
                             for i, n in enumerate(names)]
    count = sum(len(v) for v in by_scenario.values())
    return TraceSet(f"{spot_traces.DATA_ENV}={root}: {len(zones)} zones, {len(by_scenario)} "
                    f"scenarios, {count} {split} trace windows", by_scenario)


def workload_names(traces: TraceSet | None = None) -> list[str]:
    return list((traces or trace_set("train")).by_scenario)


@dataclass(frozen=True)
class Sims:
    """The simulated jobs: one per (scenario, trace)."""

    labels: list[tuple[str, int]]  # (workload name, trace id: the seed, or a real window's index)
    avail: np.ndarray  # (jobs, MAX_REGIONS, ticks) of 0/1; regions a job lacks stay 0
    regions: np.ndarray  # number of regions per job
    trace_names: tuple[str, ...] = ()  # per job, how reports name its trace


def build_sims(names: list[str], traces: TraceSet) -> Sims:
    jobs = [(name, ident, label, rows) for name in names
            for ident, label, rows in traces.by_scenario[name]]
    avail = np.zeros((len(jobs), MAX_REGIONS, HORIZON_TICKS), dtype=np.uint8)
    for i, (_, _, _, rows) in enumerate(jobs):
        avail[i, :len(rows)] = rows
    return Sims([(name, ident) for name, ident, _, _ in jobs], avail,
                np.array([len(rows) for *_, rows in jobs]), tuple(label for _, _, label, _ in jobs))


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
    for name in sorted(per_workload, key=per_workload.get)[:3]:
        m = np.flatnonzero(masks[name])
        worst = m[np.argmax(np.where(met[m], cost[m], MISS_COST))]
        lines.append(f"{name}: score {per_workload[name]:.3f}, mean cost ${cost[m].mean():.2f} "
                     f"(baseline ${ref_cost[m].mean():.2f}), misses {int((~met[m]).sum())}/"
                     f"{m.size}, moves {st.moves[m].mean():.1f} (baseline "
                     f"{ref.moves[m].mean():.1f}); worst trace {sims.trace_names[worst]}: "
                     f"${cost[worst]:.2f}{'' if met[worst] else ' MISSED'} "
                     f"(baseline ${ref_cost[worst]:.2f})")
    missed = [f"{sims.labels[i][0]} {sims.trace_names[i]}: {st.done[i] / 3600:.2f} of "
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
    """Score on the training traces; `workloads` picks a subset of scenarios by name."""
    valid = workload_names()  # outside the try: a bad data file raises its own one-line error
    try:
        names = harness.select_workloads(workloads, valid)
    except ValueError as exc:
        return harness.failure(str(exc))
    return _evaluate(program_path, names, trace_set("train"))


def evaluate_heldout(program_path: str) -> dict:
    """Score on the held-out traces (the same scenarios on other traces)."""
    return _evaluate(program_path, workload_names(), trace_set("heldout"))
