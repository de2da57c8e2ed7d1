"""Figures over a run's history, computed from its program records alone (pure functions).

Records come in the program database's canonical order (iteration, slot), which is the order
the candidates were committed; "evaluation n" is the n-th program that reached the simulator
(the baseline is evaluation 0; evaluated and failed candidates count, rejected ones do not).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from adrs.workspace.repository import ProgramRecord

OUTCOMES: tuple[str, ...] = ("evaluated", "rejected", "failed")
_SENTENCE = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True)
class Evaluation:
    """One program that reached the simulator, in the order it did."""

    index: int
    key: str
    island: int
    score: float | None  # None for a failed candidate


def evaluations(records: Iterable[ProgramRecord]) -> list[Evaluation]:
    reached = [r for r in records if r.status in ("baseline", "evaluated", "failed")]
    return [Evaluation(index, r.key, r.island, r.score) for index, r in enumerate(reached)]


def best_so_far(points: Iterable[tuple[int, float | None]]) -> list[tuple[int, float]]:
    """The running maximum of (x, score) pairs, one point per x that has a score."""
    best: float | None = None
    line: dict[int, float] = {}
    for x, score in points:
        if score is not None and (best is None or score > best):
            best = score
        if best is not None:
            line[x] = best
    return sorted(line.items())


def best_by_island(records: Sequence[ProgramRecord]) -> dict[int, list[tuple[int, float]]]:
    """Per island, the best score so far at each iteration where the island has scored.

    The baseline (iteration 0) starts every island's line: each island grows from it."""
    islands = sorted({r.island for r in records if r.status != "baseline"} or {0})
    baseline = [(r.iteration, r.score) for r in records if r.status == "baseline"]
    return {island: best_so_far(baseline + [(r.iteration, r.score) for r in records
                                            if r.island == island and r.status == "evaluated"])
            for island in islands}


def outcomes_per_iteration(records: Iterable[ProgramRecord]) -> dict[int, dict[str, int]]:
    """For each iteration with candidates: how many were evaluated, rejected, failed."""
    table: dict[int, dict[str, int]] = {}
    for record in records:
        if record.status in OUTCOMES:
            row = table.setdefault(record.iteration, dict.fromkeys(OUTCOMES, 0))
            row[record.status] += 1
    return dict(sorted(table.items()))


def lineage(records: Sequence[ProgramRecord], program_id: str) -> list[ProgramRecord]:
    """The program's ancestors from the baseline down to the program itself."""
    by_id = {record.id: record for record in records}
    chain: list[ProgramRecord] = []
    current: str | None = program_id
    while current is not None and current in by_id and len(chain) <= len(by_id):
        chain.append(by_id[current])
        current = by_id[current].parent_id
    return chain[::-1]


def rationale(record: ProgramRecord, limit: int = 160) -> str:
    """The first sentence of the hypothesis: why this step was taken, on one line."""
    text = " ".join(record.message.hypothesis.split())
    first = _SENTENCE.split(text, maxsplit=1)[0] if text else ""
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"
