"""Spot availability traces: synthetic ones drawn from laws calibrated to real AWS traces, and real
ones read from the public Can't-Be-Late trace format.

problems/spot_scheduling/spot_traces.py and problems/spot_multiregion/spot_traces.py are the same
file, byte for byte: each problem folder stands alone, and a test keeps the two copies identical.

A trace is a numpy array of 0/1 per 10-minute tick, 1 meaning spot is available during the tick.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TICK_S = 600
DATA_ENV = "ADRS_DATA_DIR"  # a folder of real traces to use instead of the synthetic ones
OUTAGE_TICKS = 3 * 3600 // TICK_S  # an unavailable run of 3 h or more counts as an outage
OUTAGE_SIGMA = 0.6  # spread of the lognormal outage lengths


@dataclass(frozen=True)
class Law:
    """Alternating available and unavailable runs. Available runs are geometric (memoryless) with
    mean `up_h` hours. An unavailable run is, with probability `gap_share`, a short gap (geometric,
    mean `gap_h`), otherwise an outage (lognormal with median `outage_h` and OUTAGE_SIGMA): real
    down time is mostly brief gaps plus a few multi-hour outages, not one geometric law."""

    up_h: float
    gap_share: float
    gap_h: float
    outage_h: float

    def draw(self, rng: random.Random, ticks: int) -> np.ndarray:
        """`ticks` ticks of availability, starting at a random point of a longer history so that
        the first run is cut like a real window's."""
        warmup = rng.randrange(288)  # up to two days
        out: list[int] = []
        up = rng.random() < 0.5
        while len(out) < warmup + ticks:
            out.extend([int(up)] * self._run(rng, up))
            up = not up
        return np.array(out[warmup:warmup + ticks], dtype=np.uint8)

    def _run(self, rng: random.Random, up: bool) -> int:
        if up:
            return _geometric(rng, self.up_h * 3600 / TICK_S)
        if rng.random() < self.gap_share:
            return _geometric(rng, self.gap_h * 3600 / TICK_S)
        median = self.outage_h * 3600 / TICK_S
        return max(1, round(rng.lognormvariate(math.log(median), OUTAGE_SIGMA)))


def _geometric(rng: random.Random, mean: float) -> int:
    """At least one tick, memoryless, with the given mean in ticks."""
    if mean <= 1.0:
        return 1
    return 1 + int(math.log(1.0 - rng.random()) / math.log(1.0 - 1.0 / mean))


@dataclass(frozen=True)
class Stats:
    """What the published real traces report, measured the same way on any set of traces: runs
    are maximal runs inside each trace (a run cut by the window's edge counts as it is)."""

    availability: float
    mean_up_h: float
    mean_down_h: float
    outage_share: float  # share of unavailable time in outages (runs of OUTAGE_TICKS or more)

    @classmethod
    def of(cls, traces: Iterable[np.ndarray]) -> Stats:
        up: list[int] = []
        down: list[int] = []
        ticks = available = 0
        for trace in traces:
            ticks, available = ticks + len(trace), available + int(np.sum(trace))
            for bit, run in itertools.groupby(trace.tolist()):
                (up if bit else down).append(len(list(run)))
        hours = TICK_S / 3600
        long_down = sum(n for n in down if n >= OUTAGE_TICKS)
        return cls(available / max(1, ticks), hours * sum(up) / max(1, len(up)),
                   hours * sum(down) / max(1, len(down)), long_down / max(1, sum(down)))


# Published statistics of real spot traces (AWS us-west-2, 10-minute ticks, 92-hour windows; the
# traces of "Can't Be Late", NSDI'24) and the laws fitted to them
# (`bench/fidelity_spot.py --fit --traces 1000`).
PUBLISHED: dict[str, Stats] = {
    "2a-k80": Stats(0.95, 5.25, 0.31, 0.00),
    "2b-k80": Stats(0.20, 1.29, 5.06, 0.92),
    "2a-v100": Stats(0.67, 2.31, 1.17, 0.65),
    "2b-v100": Stats(0.52, 1.71, 1.60, 0.74),
}
ZONES: dict[str, Law] = {
    "2a-k80": Law(5.54, 1.00, 0.31, 3.0),
    "2b-k80": Law(1.32, 0.16, 0.33, 5.3),
    "2a-v100": Law(2.35, 0.80, 0.33, 3.8),
    "2b-v100": Law(1.72, 0.72, 0.33, 4.1),
}


# --- the public trace format -------------------------------------------------------------------

class TraceError(ValueError):
    """A trace file or folder that cannot be used; the message is one line naming it."""


def data_dir() -> Path | None:
    """The folder of real traces named by $ADRS_DATA_DIR, or None for the synthetic traces."""
    root = os.environ.get(DATA_ENV)
    return Path(root) if root else None


def read_trace(path: Path, min_ticks: int) -> np.ndarray:
    """One trace file of the public format: JSON {"metadata": {"gap_seconds": 600, ...},
    "data": [0, 1, ...]} where data[i] is 1 when spot was preempted (unavailable) during tick i.
    Returns availability (1 = available), cut to its first `min_ticks` ticks."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise TraceError(f"{path}: not a JSON trace ({_first_line(exc)})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict) \
            or not isinstance(doc.get("data"), list):
        raise TraceError(f'{path}: expected {{"metadata": {{"gap_seconds": {TICK_S}}}, '
                         f'"data": [0/1 per tick]}}')
    gap = doc["metadata"].get("gap_seconds")
    if gap != TICK_S:
        raise TraceError(f"{path}: gap_seconds is {gap!r}; these problems need {TICK_S} "
                         "(10-minute ticks)")
    data = doc["data"]
    for i, bit in enumerate(data):
        if bit not in (0, 1) or isinstance(bit, float):
            raise TraceError(f"{path}: data[{i}] is {bit!r:.20}; expected 0 (spot available) "
                             "or 1 (preempted)")
    if len(data) < min_ticks:
        raise TraceError(f"{path}: {len(data)} ticks; at least {min_ticks} "
                         f"({min_ticks * TICK_S / 3600:g} h) are needed")
    return 1 - np.array(data[:min_ticks], dtype=np.uint8)


def read_zones(root: Path, min_ticks: int) -> dict[str, dict[str, np.ndarray]]:
    """Every zone folder under `root` (one folder per zone, one .json file per trace): zone name ->
    trace name -> availability. Folders and files come in sorted order (numeric names by value)."""
    if not root.is_dir():
        raise TraceError(f"{root}: not a folder")
    zones = {}
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name):
        files = sorted(folder.glob("*.json"), key=lambda p: _natural(p.stem))
        if not files:
            raise TraceError(f"{folder}: no .json trace files")
        zones[folder.name] = {f.name: read_trace(f, min_ticks) for f in files}
    if not zones:
        raise TraceError(f"{root}: no zone folders (expected one folder of .json traces per zone)")
    return zones


def read_scenarios(root: Path, zones: list[str], max_zones: int) -> dict[str, list[str]]:
    """The scenarios of root/scenarios.json ({"name": ["zone folder", ...], ...}) if there is one,
    else a single scenario, "all-zones", of every zone."""
    path = root / "scenarios.json"
    if not path.exists():
        return {"all-zones": zones}
    try:
        scenarios = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise TraceError(f"{path}: not JSON ({_first_line(exc)})") from None
    if not isinstance(scenarios, dict) or not scenarios or not all(
            isinstance(v, list) and v and all(isinstance(z, str) for z in v)
            for v in scenarios.values()):
        raise TraceError(f'{path}: expected {{"scenario": ["zone folder", ...], ...}}')
    for name, members in scenarios.items():
        unknown = [z for z in members if z not in zones]
        if unknown or len(members) > max_zones or len(set(members)) != len(members):
            raise TraceError(f"{path}: scenario {name} must list 1 to {max_zones} distinct zone "
                             "folders" + (f"; unknown: {unknown}" if unknown else ""))
    return scenarios


def split(names: list[str], salt: str, cap: int) -> tuple[list[str], list[str]]:
    """Train and held-out trace names: a seeded shuffle of the sorted names (the seed is `salt`),
    the first half for training and the rest held out, each side cut to `cap` traces."""
    order = sorted(names, key=_natural)
    random.Random(f"split:{salt}").shuffle(order)
    half = (len(order) + 1) // 2
    return sorted(order[:half], key=_natural)[:cap], sorted(order[half:], key=_natural)[:cap]


def _natural(name: str) -> tuple:
    stem = name.rsplit(".", 1)[0]
    return (0, int(stem), name) if stem.isdigit() else (1, 0, name)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]
