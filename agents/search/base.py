"""The one small interface every search strategy implements, and what it hands the planner.

A strategy is folded over the run's programs in key order (`observe`) and asked, also in key
order, where the next candidate should start (`select`). Both happen at the same points of every
run with the same seed and --parallel, whatever order the candidates finish in, so a strategy may
keep any state it likes: it is rebuilt on resume by observing the programs in git again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal, Protocol

from adrs.workspace.database import ProgramDatabase
from adrs.workspace.records import ProgramRecord

Intensity = Literal["exploit", "explore"]


@dataclass(frozen=True)
class Selection:
    """Where the next candidate starts, and what the planner should look at."""

    island: int
    parent: ProgramRecord
    intensity: Intensity  # exploit: refine the parent; explore: try something different
    inspirations: tuple[ProgramRecord, ...] = ()  # diverse programs, not the parent
    top: tuple[ProgramRecord, ...] = ()  # the best programs of the run, best first
    reason: str = ""  # why this island, parent and intensity, for the plan's rationale


class SearchStrategy(Protocol):
    """Parent, inspiration and island choice. Held-out figures never reach a strategy: it sees
    the programs' training figures only."""

    name: str

    def observe(self, record: ProgramRecord, code_length: int) -> None:
        """A program joined the database (called in key order, once per program)."""
        ...

    def select(self, database: ProgramDatabase, rng: random.Random) -> Selection:
        """Where candidate number len-of-run+1… starts; `database` is the snapshot it may use."""
        ...
