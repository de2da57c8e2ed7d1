"""What the synthetic txn_scheduling batches look like, and what each model makes of them.

    .venv/bin/python bench/fidelity_txn_scheduling.py [--seeds 1 2 3 4 5 6]

Per family (means over the seeds): transactions, operations, distinct keys, write share, the
share of transactions touching one of the batch's 5 most touched keys; then the lower bound
(longest transaction), the sequential makespan (sum of lengths), and under each model the
makespan of the identity order and of the baseline (initial.py). docs/problems.md quotes its
output.
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter

from problem_modules import load

evaluator = load("txn_scheduling", "evaluator.py")
initial = load("txn_scheduling", "initial.py")


def shape(batch: list) -> dict[str, float]:
    ops = [op for txn in batch for op in txn]
    touches = Counter(key for txn in batch for key in {key for _, key in txn})
    hot = {key for key, _ in touches.most_common(5)}
    return {"txns": len(batch), "ops/txn": len(ops) / len(batch),
            "keys": len({key for _, key in ops}),
            "writes": sum(op == "w" for op, _ in ops) / len(ops),
            "hot share": sum(bool(hot & {key for _, key in txn}) for txn in batch) / len(batch)}


def spans(batch: list) -> dict[str, float]:
    lower, upper = evaluator.bounds(batch)
    out = {"lower bound": lower, "sequential": upper}
    for model in evaluator.MODELS:
        out[f"identity: {model}"] = evaluator.makespan(batch, list(range(len(batch))), model)
        out[f"baseline: {model}"] = evaluator.makespan(batch, initial.schedule(batch, model),
                                                       model)
    return out


def table(rows: dict[str, list[dict[str, float]]]) -> None:
    columns = list(next(iter(rows.values()))[0])
    print("| family | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for family, samples in rows.items():
        means = [statistics.mean(sample[c] for sample in samples) for c in columns]
        print(f"| {family} | " + " | ".join(f"{m:.1f}" if m >= 100 else f"{m:.3g}"
                                            for m in means) + " |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    args = parser.parse_args()
    batches = {f: [evaluator.generate(f, seed) for seed in args.seeds] for f in evaluator.FAMILIES}
    print(f"seeds {args.seeds}\n")
    table({f: [shape(b) for b in bs] for f, bs in batches.items()})
    print("mean makespans:\n")
    table({f: [spans(b) for b in bs] for f, bs in batches.items()})


if __name__ == "__main__":
    main()
