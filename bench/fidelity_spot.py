"""How the synthetic spot traces compare with the published real ones.

    .venv/bin/python bench/fidelity_spot.py [--traces 300] [--fit]

Prints, for each zone law of problems/spot_scheduling (the four environments), the statistics of
`--traces` synthetic 92-hour traces next to the published statistics of the real AWS traces they
are calibrated to; then the same statistics for the zones of each spot_multiregion scenario (whose
zones also share their cloud region's outages). `--fit` refits the laws to the published figures
and prints them (spot_traces.ZONES holds the values of `--fit --traces 1000`).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import random
import sys
from pathlib import Path

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"


def load(problem: str, module: str):
    """A module of a problem folder (the folders stand alone and are not packages)."""
    spec = importlib.util.spec_from_file_location(f"{problem}_{module}",
                                                  PROBLEMS / problem / f"{module}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


st = load("spot_scheduling", "spot_traces")
WINDOW = 92 * 3600 // st.TICK_S


def row(name: str, stats, real=None) -> str:
    def cells(s):
        return (f"{s.availability:5.2f} {s.mean_up_h:6.2f} {s.mean_down_h:6.2f} "
                f"{100 * s.outage_share:5.0f}%")
    return f"{name:<30} {cells(stats)}" + (f"   |  {cells(real)}" if real else "")


def zone_table(traces: int) -> None:
    print(f"{'synthetic zone':<30} {'avail':>5} {'up h':>6} {'down h':>6} {'>=3h':>6}   |  "
          f"published real (AWS us-west-2)")
    for name, law in st.ZONES.items():
        rng = random.Random(f"fidelity:{name}")
        synthetic = st.Stats.of(law.draw(rng, WINDOW) for _ in range(traces))
        print(row(name, synthetic, st.PUBLISHED[name]))


def multiregion_table(traces: int) -> None:
    ev = load("spot_multiregion", "evaluator")
    print(f"\n{'spot_multiregion zone':<30} {'avail':>5} {'up h':>6} {'down h':>6} {'>=3h':>6}"
          f"   (52-hour windows, {traces} seeds)")
    for scenario in ev.workload_names():
        rows = [ev.availability_traces(scenario, seed) for seed in range(1, traces + 1)]
        for z, zone in enumerate(ev.scenario_zones(scenario)):
            print(row(f"{scenario}[{z}] {zone}", st.Stats.of(r[z] for r in rows)))


# --- refitting the laws ------------------------------------------------------------------------

def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _down_law(down: float, share: float, gap: float) -> tuple[float, float]:
    """(gap_share, outage median in ticks) whose mean unavailable run is `down` ticks with `share`
    of it in outages, ignoring window cuts; bisection on the median."""
    sigma2 = st.OUTAGE_SIGMA ** 2

    def excess(log_median: float) -> float:
        mean = math.exp(log_median + sigma2 / 2)
        long = mean * _phi((log_median + sigma2 - math.log(st.OUTAGE_TICKS)) / st.OUTAGE_SIGMA)
        outages = share * down / long  # fraction of unavailable runs that are outages
        return (1 - outages) * gap + outages * (mean - long) - (1 - share) * down

    low, high = math.log(st.OUTAGE_TICKS) - 1.0, math.log(20 * st.OUTAGE_TICKS)
    for _ in range(60):
        mid = (low + high) / 2
        # the excess falls as outages lengthen
        low, high = (mid, high) if excess(mid) > 0 else (low, mid)
    mean = math.exp(low + sigma2 / 2)
    long = mean * _phi((low + sigma2 - math.log(st.OUTAGE_TICKS)) / st.OUTAGE_SIGMA)
    return max(0.0, 1 - share * down / long), math.exp(low)


def fit(target, traces: int, gap_h: float = 1 / 3):
    """A law whose synthetic statistics match `target`: solve the unavailable-run law for the
    aimed figures, measure, move the aim by the error (window cuts bias the figures), repeat."""
    tick_h = st.TICK_S / 3600
    aim_down, aim_share, aim_up = target.mean_down_h, target.outage_share, target.mean_up_h
    law = None
    for _ in range(10):
        if aim_share <= 0:
            law = st.Law(aim_up, 1.0, aim_down, 3.0)
        else:
            gap_share, median = _down_law(aim_down / tick_h, aim_share, gap_h / tick_h)
            law = st.Law(aim_up, gap_share, gap_h, median * tick_h)
        rng = random.Random("fit")
        got = st.Stats.of(law.draw(rng, WINDOW) for _ in range(traces))
        aim_down += target.mean_down_h - got.mean_down_h
        aim_share = min(0.99, aim_share + target.outage_share - got.outage_share) \
            if target.outage_share > 0 else 0.0
        aim_up *= target.mean_up_h / got.mean_up_h
    return law


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=300)
    parser.add_argument("--fit", action="store_true", help="refit the laws and print them")
    args = parser.parse_args()
    if args.fit:
        for name, target in st.PUBLISHED.items():
            law = fit(target, args.traces)
            print(f'    "{name}": Law({law.up_h:.2f}, {law.gap_share:.2f}, {law.gap_h:.2f}, '
                  f"{law.outage_h:.1f}),")
        return
    zone_table(args.traces)
    multiregion_table(min(args.traces, 100))


if __name__ == "__main__":
    main()
