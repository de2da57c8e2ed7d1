"""A MAP-Elites archive: the best program of each cell of a grid over feature values.

Each feature's range is learnt from the values seen so far (a running minimum and maximum,
updated in key order); a program's cell is fixed when it arrives, as in MAP-Elites, so an elite
never moves. Keeping one elite per cell keeps programs that are good in different ways, not just
the best few, and the archive's size is bounded by the grid whatever the run's length.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from adrs.workspace.records import ProgramRecord

Cell = tuple[int, ...]


@dataclass
class FeatureRange:
    low: float = math.inf
    high: float = -math.inf

    def widen(self, value: float) -> None:
        self.low, self.high = min(self.low, value), max(self.high, value)

    def bin(self, value: float, bins: int) -> int:
        if not self.high > self.low:
            return 0
        return min(bins - 1, max(0, int((value - self.low) / (self.high - self.low) * bins)))


@dataclass
class Archive:
    features: Sequence[str]
    bins: int = 6
    ranges: dict[str, FeatureRange] = field(default_factory=dict)
    elites: dict[Cell, ProgramRecord] = field(default_factory=dict)

    def cell_of(self, values: Mapping[str, float]) -> Cell:
        for name in self.features:
            self.ranges.setdefault(name, FeatureRange()).widen(values[name])
        return tuple(self.ranges[name].bin(values[name], self.bins) for name in self.features)

    def add(self, record: ProgramRecord, values: Mapping[str, float]) -> bool:
        """Offer a scored program; True if it became its cell's elite."""
        cell = self.cell_of(values)
        held = self.elites.get(cell)
        if held is not None and (held.score or 0.0) >= (record.score or 0.0):
            return False
        self.elites[cell] = record
        return True

    def best(self) -> ProgramRecord | None:
        ranked = self.ranked()
        return ranked[0] if ranked else None

    def ranked(self) -> list[ProgramRecord]:
        """The elites, best first; ties by age (key)."""
        return sorted(self.elites.values(), key=lambda r: (-(r.score or 0.0), r.iteration, r.slot))

    def diverse(self, rng: random.Random, count: int, avoid: ProgramRecord) -> list[ProgramRecord]:
        """Up to `count` elites of other cells than `avoid`'s, drawn without replacement."""
        others = sorted((r for r in self.elites.values() if r.id != avoid.id),
                        key=lambda r: (r.iteration, r.slot))
        return rng.sample(others, min(count, len(others)))

    def tournament(self, rng: random.Random, size: int) -> ProgramRecord:
        """The best of `size` elites drawn without replacement."""
        pool = sorted(self.elites.values(), key=lambda r: (r.iteration, r.slot))
        drawn = rng.sample(pool, min(size, len(pool)))
        return max(drawn, key=lambda r: (r.score or 0.0, -r.iteration, -r.slot))

    def uniform(self, rng: random.Random) -> ProgramRecord:
        return rng.choice(sorted(self.elites.values(), key=lambda r: (r.iteration, r.slot)))
