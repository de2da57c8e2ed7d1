"""The lineage tree's layout: a chain keeps its row, branches open rows next to their parent,
islands stack as bands."""

from __future__ import annotations

from dataclasses import replace

from adrs.viewer.views import layout, progress
from adrs.workspace.messages import CandidateMessage
from adrs.workspace.repository import ProgramRecord


def program(key: str, parent: str | None, island: int = 0) -> ProgramRecord:
    iteration, slot = int(key[1:5]), int(key.split("-s")[1])
    status = "baseline" if parent is None else "evaluated"
    message = CandidateMessage(summary=key, status=status, iteration=iteration, slot=slot,
                               island=island, score=0.5)
    return ProgramRecord(id=key, parent_id=parent, key=key, message=message, program_blob="")


def test_a_chain_is_one_row_and_a_branch_opens_the_next():
    records = [program("i0000-s0", None), program("i0001-s0", "i0000-s0"),
               program("i0001-s1", "i0000-s0"), program("i0002-s0", "i0001-s0"),
               program("i0003-s0", "i0002-s0"), program("i0003-s1", "i0001-s1")]
    place = layout(records)
    assert place == {"i0000-s0": (0, 0), "i0001-s0": (1, 0), "i0002-s0": (2, 0), "i0003-s0": (3, 0),
                     "i0001-s1": (1, 1), "i0003-s1": (3, 1)}


def test_a_subtree_keeps_its_rows_together():
    records = [program("i0000-s0", None), program("i0001-s0", "i0000-s0"),
               program("i0001-s1", "i0000-s0"), program("i0002-s0", "i0001-s0"),
               program("i0002-s1", "i0001-s0")]
    rows = {key: row for key, (_, row) in layout(records).items()}
    # i0001-s0's second child sits right under its parent's row, before the baseline's.
    assert rows == {"i0000-s0": 0, "i0001-s0": 0, "i0002-s0": 0, "i0002-s1": 1, "i0001-s1": 2}


def test_islands_are_bands_and_a_migrant_starts_its_islands_band():
    records = [program("i0000-s0", None), program("i0001-s0", "i0000-s0", island=0),
               program("i0001-s1", "i0000-s0", island=1), program("i0002-s0", "i0001-s1", island=1),
               program("i0002-s1", "i0001-s0", island=1)]
    place = layout(records)
    rows = {key: row for key, (_, row) in place.items()}
    assert max(rows[k] for k in ("i0000-s0", "i0001-s0")) < min(
        rows[k] for k in ("i0001-s1", "i0002-s0", "i0002-s1"))
    assert len(set(place.values())) == len(records)


def test_progress_sends_the_rises_and_the_last_point_of_each_island():
    scores = [0.5, 0.5, 0.7, 0.6, 0.6, 0.9, 0.8]
    records = [program("i0000-s0", None)] + [program(f"i{n:04d}-s0", "i0000-s0")
                                             for n in range(1, len(scores))]
    records = [replace(r, message=r.message.model_copy(update={"score": score}))
               for r, score in zip(records, scores)]
    assert progress(records) == {"0": [[0, 0.5], [2, 0.7], [5, 0.9], [6, 0.9]]}
