"""What the llm_sql tables look like, and what the bounded prefix cache makes of them.

    .venv/bin/python bench/fidelity_llm_sql.py [--seed 1] [--data DIR]

Per table (the synthetic families for one seed, or the CSV tables of DIR, read as
ADRS_DATA_DIR would be): rows, columns, characters, mean prompt length, distinct values per
column (fewest and most), the cache's capacity (characters and share of the table), and the hit
rate of the baseline's order (the trusted copy in evaluator.py): bounded (the score), unbounded
(the public evaluator's figure), and bounded with the same rows shuffled. docs/problems.md quotes
its output.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from problem_modules import load

evaluator = load("llm_sql", "evaluator.py")


def row(table) -> str:
    order = evaluator.validate_order(
        table, [[r, list(fields)] for r, fields in evaluator.reference_reorder(table.columns,
                                                                             table.rows)])
    shuffled = order[:]
    random.Random(0).shuffle(shuffled)
    lengths = table.prompt_lengths()
    characters = sum(lengths)
    distinct = [len({r[f] for r in table.rows}) for f in range(len(table.columns))]
    capacity = table.cache_blocks() * evaluator.BLOCK_CHARS
    figures = [len(table.rows), len(table.columns), characters, characters / len(table.rows)]
    return (f"| {table.name} | " + " | ".join(f"{x:.0f}" for x in figures)
            + f" | {min(distinct)}-{max(distinct)} | {capacity} ({capacity / characters:.1%}) | "
            + f"{evaluator.hit_rate(table, order):.4f} | "
            + f"{evaluator.unbounded_hit_rate(table, order):.4f} | "
            + f"{evaluator.hit_rate(table, shuffled):.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, help="a folder of CSV tables instead of the generator")
    args = parser.parse_args()
    if args.data and not args.data.is_dir():
        raise SystemExit(f"error: --data {args.data} is not a folder")
    try:
        tables = evaluator.csv_tables(args.data) if args.data else \
            evaluator.make_workloads([args.seed])
    except evaluator.DataError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(f"cache: blocks of {evaluator.BLOCK_CHARS} characters, {evaluator.CACHE_FRACTION:.0%} "
          f"of a table (at least its {evaluator.CACHE_MIN_PROMPTS} longest prompts), LRU\n")
    print("| table | rows | columns | characters | chars/row | distinct per column | cache "
          "| baseline hit rate | unbounded | shuffled rows |")
    print("|---" * 10 + "|")
    for table in tables:
        print(row(table))


if __name__ == "__main__":
    main()
