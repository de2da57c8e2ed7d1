"""What the synthetic eplb loads look like, both balance figures of the baseline, and what an
evaluation costs with 12 layers per workload and with the paper's 58.

    .venv/bin/python bench/fidelity_eplb.py [--seed 1] [--layers 12 58]

Per family: experts, slots, GPUs, the hottest expert's load over the mean (per layer and window,
averaged), the share of experts that get no token, how much an expert's load changes from one
window to the next (mean |next - this| / this over loaded experts), and the baseline's (the
trusted copy in evaluator.py) balancedness on the next window: per GPU (the score) and per slot
(the public evaluator's figure). Then one evaluation of initial.py per layer count: wall time and
combined_score. docs/problems.md quotes its output.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from problem_modules import PROBLEMS, load

evaluator = load("eplb", "evaluator.py")


def row(workload) -> str:
    f, loads = workload.family, workload.loads
    hottest = float((loads.max(axis=2) / loads.mean(axis=2)).mean())
    before, after = loads[:-1], loads[1:]
    loaded = before > 0
    change = float((np.abs(after - before)[loaded] / before[loaded]).mean())
    per_gpu, per_slot = [], []
    for window in range(f.windows - 1):
        phy2log = evaluator.reference_rebalance(loads[window], f.num_replicas, f.num_groups,
                                                f.num_nodes, f.num_gpus)[0]
        per_gpu.append(evaluator.balancedness(loads[window + 1], phy2log, f.num_gpus))
        per_slot.append(evaluator.slot_balancedness(loads[window + 1], phy2log))
    return (f"| {workload.name} | {f.num_experts} | {f.num_replicas} | {f.num_gpus} | "
            f"{hottest:.1f} | {(loads == 0).mean():.1%} | {change:.2f} | "
            f"{np.mean(per_gpu):.4f} | {np.mean(per_slot):.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--layers", type=int, nargs="+", default=[12, 58])
    args = parser.parse_args()
    print("| workload | experts | slots | GPUs | hottest / mean | idle experts | window change "
          "| baseline per-GPU balance | per-slot balance |")
    print("|---" * 9 + "|")
    for workload in evaluator.make_workloads([args.seed]):
        print(row(workload))
    print("\n| layers | evaluation of initial.py | combined_score |\n|---|---|---|")
    for layers in args.layers:
        workloads = evaluator.make_workloads([args.seed], layers)
        started = time.perf_counter()
        result = evaluator.score_program(str(PROBLEMS / "eplb" / "initial.py"), workloads, 600.0)
        print(f"| {layers} | {time.perf_counter() - started:.1f} s | "
              f"{result['combined_score']:.4f} |")


if __name__ == "__main__":
    main()
