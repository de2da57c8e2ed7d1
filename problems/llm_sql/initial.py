"""LLM-SQL baseline: greedy group recursion (GGR).

Entry point: reorder_table(columns, rows) returns the rows in a new order, each with its own
field order, so that consecutive prompts share long prefixes (see README.md).

GGR: find the (column, value) whose grouping shares the most characters, put the rows holding it
together with that field first, recurse inside the group on the remaining fields, and go on with
the rest of the table. Small or patternless sub-tables are finished by a plain sort.
"""

from __future__ import annotations

import heapq

# EVOLVE-BLOCK-START
# A (column, value) scores (rows holding it - 1) * len(piece) ** LENGTH_POWER, where the piece is
# the serialised field "column: value\n": the characters its group would share.
LENGTH_POWER = 1.0
# Sub-tables with fewer rows than this are not grouped further, only sorted.
MIN_GROUP_ROWS = 3
# Most fields fixed by nested groups before a sub-table is only sorted.
MAX_DEPTH = 4


def reorder_table(columns: list[str], rows: list[list[str]]) -> list[tuple[int, list[int]]]:
    """(row index, field order) for every row, in the order the rows should be sent."""
    return group_rows(columns, rows, list(range(len(rows))), list(range(len(columns))), [])


def group_rows(columns: list[str], rows: list[list[str]], ids: list[int], fields: list[int],
               prefix: list[int]) -> list[tuple[int, list[int]]]:
    """Rows `ids`, whose fields `prefix` are already fixed, with their field orders: peel off the
    best-scoring group again and again and recurse into each group."""
    if len(ids) < MIN_GROUP_ROWS or not fields or len(prefix) >= MAX_DEPTH:
        return sort_rows(rows, ids, fields, prefix)
    members: dict[tuple[int, str], list[int]] = {}
    for i in ids:
        for f in fields:
            members.setdefault((f, rows[i][f]), []).append(i)
    # Max-heap of scores; entries go stale as rows leave with earlier groups.
    size = {key: len(group) for key, group in members.items()}
    heap = [(-group_score(columns, key, size[key]), key)
            for key in members if size[key] >= MIN_GROUP_ROWS]
    heapq.heapify(heap)
    placed: set[int] = set()
    out: list[tuple[int, list[int]]] = []
    while heap:
        negative, key = heapq.heappop(heap)
        score = group_score(columns, key, size[key])
        if -negative != score:
            if size[key] >= MIN_GROUP_ROWS:
                heapq.heappush(heap, (-score, key))
            continue
        group = [i for i in members[key] if i not in placed]
        field, _ = key
        rest = [f for f in fields if f != field]
        out += group_rows(columns, rows, group, rest, prefix + [field])
        for i in group:
            placed.add(i)
            for f in fields:
                size[(f, rows[i][f])] -= 1
    left = [i for i in ids if i not in placed]
    return out + sort_rows(rows, left, fields, prefix)


def group_score(columns: list[str], key: tuple[int, str], count: int) -> float:
    field, value = key
    return (count - 1) * len(f"{columns[field]}: {value}\n") ** LENGTH_POWER


def sort_rows(rows: list[list[str]], ids: list[int], fields: list[int],
              prefix: list[int]) -> list[tuple[int, list[int]]]:
    """Fields with fewer distinct values first; rows sorted by their values in that order."""
    distinct = {f: len({rows[i][f] for i in ids}) for f in fields}
    order = prefix + sorted(fields, key=lambda f: (distinct[f], f))
    ranked = sorted(ids, key=lambda i: [rows[i][f] for f in order])
    return [(i, order) for i in ranked]
# EVOLVE-BLOCK-END
