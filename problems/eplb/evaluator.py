"""Trusted evaluator of the EPLB problem: replicate and place Mixture-of-Experts experts on GPUs so
that the per-GPU load is balanced, and decide fast.

The candidate runs in a persistent child process. For every window of measured expert load it
returns a placement (slot -> expert map, expert -> slots map, replica counts); this module checks
the placement strictly and scores its balance on the NEXT window of load, as in production. The
wall time of each call is measured here, around the request to the child, minus a calibrated
round trip, and compared with a trusted copy of the baseline timed on the same input at the same
moment. Balance is deterministic; the speed term carries timing noise.

    evaluate(program_path, workloads=None) -> dict   training workloads (or a named subset)
    evaluate_heldout(program_path) -> dict          held-out workloads
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PROBLEM_DIR = Path(__file__).resolve().parent
ENTRY_POINT = "rebalance_experts"
STDERR_TAIL_CHARS = 2000
BALANCE_WEIGHT = 0.9           # combined = 0.9 x balancedness + 0.1 x speed term
SPEED_CAP = 10.0               # 10x faster than the baseline earns the whole speed term
MIN_CALL_SECONDS = 1e-5        # floor of both measured times (the round trip is subtracted)
PING_REPEATS = 7
WARMUP_SEED = 12345

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


def make_workload(family_name: str, seed: int) -> Workload:
    rng = np.random.default_rng([seed, sorted(FAMILIES).index(family_name)])
    family = FAMILIES[family_name]
    return Workload(f"{family_name}-s{seed}", family, make_loads(family, rng))


def make_workloads(seeds: list[int]) -> list[Workload]:
    return [make_workload(family, seed) for seed in seeds for family in FAMILIES]


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


def speed_term(reference_seconds: float, candidate_seconds: float) -> float:
    """0.5 at the baseline's speed, 1.0 at SPEED_CAP times faster, 0.0 at SPEED_CAP times slower."""
    ratio = max(reference_seconds, MIN_CALL_SECONDS) / max(candidate_seconds, MIN_CALL_SECONDS)
    return min(1.0, max(0.0, 0.5 + 0.5 * math.log(ratio) / math.log(SPEED_CAP)))


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
# The candidate's child process: a small server that imports the candidate and answers requests.
# ---------------------------------------------------------------------------------------------

# fd 1 is pointed at stderr before the candidate is imported, so its prints cannot corrupt answers.
_DRIVER = r"""
import importlib.util, json, os, sys, traceback
answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr
def send(message):
    answers.write(json.dumps(message) + "\n")
    answers.flush()
def reason(exc):
    return "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]
def plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value
try:
    spec = importlib.util.spec_from_file_location("candidate", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    sys.modules["candidate"] = module  # dataclasses and pickle look a module up by name
    spec.loader.exec_module(module)
    entry = getattr(module, sys.argv[2])
except BaseException as exc:
    send({"error": "import failed: " + reason(exc)})
    raise SystemExit(0)
send({"ok": True})
tasks, results = {}, {}
for line in sys.stdin:
    request = json.loads(line)
    op = request["op"]
    if op == "ping":
        send({"ok": True})
    elif op == "load":
        for key, args in request["tasks"].items():
            for index in request.get("arrays", ()):
                import numpy
                args[index] = numpy.asarray(args[index], dtype=numpy.float64)
            tasks[key] = args
        send({"ok": True})
    elif op == "run":
        try:
            results[request["key"]] = entry(*tasks.pop(request["key"]))
        except BaseException as exc:
            send({"error": reason(exc)})
            continue
        send({"ok": True})
    elif op == "fetch":
        try:
            send({"ok": True, "result": plain(results.pop(request["key"]))})
        except BaseException as exc:
            send({"error": "answer cannot be sent as JSON: " + reason(exc)})
"""


class CandidateFailure(RuntimeError):
    """The candidate crashed, timed out or broke the protocol; the message says which."""


def candidate_command(argv: list[str]) -> list[str]:
    """argv behind the jail adrs's sandbox offers in $ADRS_CANDIDATE_PREFIX (a JSON argv) so the
    candidate cannot read this folder; unchanged when the variable is unset (standalone runs)."""
    prefix = json.loads(os.environ.get("ADRS_CANDIDATE_PREFIX") or "[]")
    return [str(part) for part in prefix] + argv


class CandidateSession:
    """A child process serving one candidate program; every request shares one deadline."""

    def __init__(self, program_path: str, entry: str, timeout_seconds: float, *,
                 trusted: bool = False) -> None:
        self._timeout = timeout_seconds
        self._deadline = time.monotonic() + timeout_seconds
        self._stderr = tempfile.TemporaryFile()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
               "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}
        # -s -P instead of -I: -I would also drop PYTHONHASHSEED and make set order vary per run.
        argv = [sys.executable, "-s", "-P", "-c", _DRIVER, str(program_path), entry]
        # The trusted reference is this very file: only the candidate goes behind the jail.
        self._proc = subprocess.Popen(
            argv if trusted else candidate_command(argv),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
            start_new_session=True)
        self._buffer = b""
        self._receive()

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write((json.dumps(message) + "\n").encode())
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise CandidateFailure(self._crash_text()) from None
        return self._receive()

    def timed_request(self, message: dict[str, Any]) -> float:
        """Wall seconds from sending the request to reading the reply."""
        started = time.perf_counter()
        self.request(message)
        return time.perf_counter() - started

    def _receive(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise CandidateFailure(f"timed out after {self._timeout:g} s")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise CandidateFailure(self._crash_text())
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            reply = json.loads(line)
        except ValueError:
            raise CandidateFailure("sent an unreadable answer") from None
        if not isinstance(reply, dict) or "error" in reply:
            raise CandidateFailure(str(reply.get("error") if isinstance(reply, dict) else reply))
        return reply

    def _crash_text(self) -> str:
        self._proc.wait()
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
        last = lines[-1][-STDERR_TAIL_CHARS:] if lines else "no output"
        return f"exited with code {self._proc.returncode}: {last}"

    def close(self) -> None:
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # already gone with its group
        self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout, self._stderr):
            if stream is not None:
                stream.close()


@dataclass(frozen=True)
class Call:
    """One rebalance: plan on window `window` of a workload, score on the next one."""

    workload: Workload
    window: int

    @property
    def key(self) -> str:
        return f"{self.workload.name}/w{self.window}"


@dataclass(frozen=True)
class Measured:
    answer: Any
    candidate_seconds: float
    reference_seconds: float
    reference_phy2log: np.ndarray


def warmup_task() -> list[Any]:
    """An unscored input run first, so imports and caches warm up outside the timed calls."""
    family = FAMILIES["lognormal"]
    loads = make_loads(family, np.random.default_rng(WARMUP_SEED))
    return Workload("warmup", family, loads).task(0)


class TimedServer:
    """A session ready for timed calls: inputs loaded, warmed up, its round trip calibrated."""

    def __init__(self, program_path: str, entry: str, tasks: dict[str, Any],
                 timeout_seconds: float, *, trusted: bool = False) -> None:
        self.session = CandidateSession(program_path, entry, timeout_seconds, trusted=trusted)
        try:
            self.session.request({"op": "load", "tasks": {**tasks, "warmup": warmup_task()},
                                  "arrays": [0]})
            try:
                self.session.request({"op": "run", "key": "warmup"})
                self.session.request({"op": "fetch", "key": "warmup"})
            except CandidateFailure as exc:
                raise CandidateFailure(f"warm-up input: {exc}") from None
            self.round_trip = statistics.median(self.session.timed_request({"op": "ping"})
                                                for _ in range(PING_REPEATS))
        except BaseException:
            self.session.close()
            raise

    def call(self, key: str) -> tuple[Any, float]:
        """The answer for one loaded input and the seconds the call took, round trip removed."""
        elapsed = self.session.timed_request({"op": "run", "key": key})
        answer = self.session.request({"op": "fetch", "key": key})["result"]
        return answer, max(elapsed - self.round_trip, 0.0)


def _reference_call(reference: TimedServer, key: str) -> tuple[Any, float]:
    try:
        return reference.call(key)
    except CandidateFailure as exc:
        raise RuntimeError(f"the trusted reference failed: {exc}") from None


def run_calls(program_path: str, calls: list[Call], timeout_seconds: float) -> dict[str, Measured]:
    """Every call's answer and times. The trusted reference runs in a child of its own, served
    the same way, and is timed right before or after the candidate on the same input."""
    tasks = {c.key: c.workload.task(c.window) for c in calls}
    candidate = TimedServer(program_path, ENTRY_POINT, tasks, timeout_seconds)
    try:
        try:
            reference = TimedServer(str(PROBLEM_DIR / "evaluator.py"), "reference_rebalance",
                                    tasks, timeout_seconds, trusted=True)
        except CandidateFailure as exc:
            raise RuntimeError(f"the trusted reference failed: {exc}") from None
        try:
            measured = {}
            for index, c in enumerate(calls):
                # Alternate who goes first, so neither always meets a cold CPU or cache.
                if index % 2:
                    reference_answer, reference_seconds = _reference_call(reference, c.key)
                try:
                    answer, seconds = candidate.call(c.key)
                except CandidateFailure as exc:
                    raise CandidateFailure(f"workload {c.key}: {exc}") from None
                if not index % 2:
                    reference_answer, reference_seconds = _reference_call(reference, c.key)
                measured[c.key] = Measured(answer, seconds, reference_seconds,
                                           np.asarray(reference_answer[0], dtype=np.int64))
            return measured
        finally:
            reference.session.close()
    finally:
        candidate.session.close()


# ---------------------------------------------------------------------------------------------
# Scoring and the contract's entry points.
# ---------------------------------------------------------------------------------------------

def load_config() -> dict[str, Any]:
    with open(PROBLEM_DIR / "problem.toml", "rb") as handle:
        return tomllib.load(handle)


def evaluate(program_path: str, workloads: list[str] | None = None) -> dict[str, Any]:
    config = load_config()
    chosen = make_workloads(list(config["workloads"]["train_seeds"]))
    if workloads is not None:
        by_name = {w.name: w for w in chosen}
        unknown = [name for name in workloads if name not in by_name]
        if unknown or not workloads:
            return _failed(f"unknown workloads {unknown}; valid names: {', '.join(by_name)}")
        chosen = [by_name[name] for name in workloads]
    return score_program(program_path, chosen, float(config["candidate"]["timeout_seconds"]))


def evaluate_heldout(program_path: str) -> dict[str, Any]:
    config = load_config()
    chosen = make_workloads(list(config["workloads"]["heldout_seeds"]))
    return score_program(program_path, chosen, float(config["candidate"]["timeout_seconds"]))


@dataclass(frozen=True)
class WorkloadResult:
    balance: float
    reference_balance: float
    candidate_seconds: float   # median over the workload's calls
    reference_seconds: float

    @property
    def speed(self) -> float:
        return speed_term(self.reference_seconds, self.candidate_seconds)

    @property
    def score(self) -> float:
        return BALANCE_WEIGHT * self.balance + (1.0 - BALANCE_WEIGHT) * self.speed


def score_program(program_path: str, workloads: list[Workload],
                  timeout_seconds: float) -> dict[str, Any]:
    """Per workload: 0.9 x balancedness on the next window + 0.1 x speed term; combined_score is
    the mean over workloads."""
    started = time.perf_counter()
    calls = [Call(w, window) for w in workloads for window in range(w.family.windows - 1)]
    try:
        measured = run_calls(program_path, calls, timeout_seconds)
    except CandidateFailure as exc:
        return _failed(f"candidate failed: {exc}")
    results: dict[str, WorkloadResult] = {}
    plan_balances = []
    for w in workloads:
        mine = [c for c in calls if c.workload is w]
        balances, reference_balances = [], []
        for c in mine:
            m = measured[c.key]
            try:
                phy2log = validate_placement(w.family, m.answer)
            except InvalidAnswer as exc:
                return _failed(f"workload {c.key}: invalid answer: {exc}")
            upcoming = w.loads[c.window + 1]
            balances.append(balancedness(upcoming, phy2log, w.family.num_gpus))
            reference_balances.append(
                balancedness(upcoming, m.reference_phy2log, w.family.num_gpus))
            plan_balances.append(balancedness(w.loads[c.window], phy2log, w.family.num_gpus))
        results[w.name] = WorkloadResult(
            float(np.mean(balances)), float(np.mean(reference_balances)),
            statistics.median(measured[c.key].candidate_seconds for c in mine),
            statistics.median(measured[c.key].reference_seconds for c in mine))
    per_workload = {name: r.score for name, r in results.items()}
    ratios = [max(r.reference_seconds, MIN_CALL_SECONDS)
              / max(r.candidate_seconds, MIN_CALL_SECONDS) for r in results.values()]
    return {
        "combined_score": float(np.mean(list(per_workload.values()))),
        "balancedness": float(np.mean([r.balance for r in results.values()])),
        "baseline_balancedness": float(np.mean([r.reference_balance for r in results.values()])),
        "plan_window_balancedness": float(np.mean(plan_balances)),
        "speed_term": float(np.mean([r.speed for r in results.values()])),
        "speedup_vs_baseline": float(np.exp(np.mean(np.log(ratios)))),
        "runtime_ms": 1000 * float(np.mean([r.candidate_seconds for r in results.values()])),
        "per_workload": per_workload,
        "artifacts": {"worst_workloads": _worst_text(results)},
        "timings": {"candidate_call_ms": 1000 * sum(r.candidate_seconds for r in results.values()),
                    "baseline_call_ms": 1000 * sum(r.reference_seconds for r in results.values()),
                    "evaluation_seconds": time.perf_counter() - started},
    }


def _worst_text(results: dict[str, WorkloadResult], count: int = 3) -> str:
    worst = sorted(results, key=lambda name: (results[name].score, name))[:count]
    return "\n".join(
        f"{name}: score {results[name].score:.4f}, balancedness {results[name].balance:.4f} "
        f"vs baseline {results[name].reference_balance:.4f}, median call "
        f"{1000 * results[name].candidate_seconds:.2f} ms vs baseline "
        f"{1000 * results[name].reference_seconds:.2f} ms" for name in worst)


def _failed(error: str) -> dict[str, Any]:
    return {"combined_score": 0.0, "error": error}
