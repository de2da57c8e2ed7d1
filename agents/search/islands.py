"""Islands that evolve apart, each with a MAP-Elites archive, chosen by a UCB bandit.

- Every candidate belongs to one island (its Island trailer) and starts from an elite of that
  island's archive; every `migration_interval` programs an island's best is offered to the next
  island (a ring), so good ideas spread without making the islands alike.
- Which island to work on is a bandit: an island that keeps improving is chosen more, one that
  never does is still tried now and then (UCB1 with discounting, after SkyDiscover's AdaEvolve).
- How far to move (exploit the island's best, or explore a random elite with more varied
  inspirations) follows the island's progress: the longer since it last improved, the more
  likely it explores.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from adrs.agents.search.archive import Archive
from adrs.agents.search.base import Intensity, Selection
from adrs.agents.search.ucb import Bandit
from adrs.workspace.database import ProgramDatabase
from adrs.workspace.messages import SCORED_STATUSES
from adrs.workspace.records import ProgramRecord

CODE_LENGTH = "code_length"
HIDDEN_PREFIXES = ("heldout", "held_out")  # never a feature: held-out figures stay out of search


@dataclass(frozen=True)
class IslandConfig:
    islands: int = 3
    features: tuple[str, ...] = ()  # empty: code length and the first metric the baseline reports
    bins: int = 6
    migration_interval: int = 12  # programs an island receives between two migrations
    inspirations: int = 2
    top: int = 3
    tournament_size: int = 3
    patience: float = 6.0  # candidates without a gain after which exploring is ~63% of the way up
    min_explore: float = 0.1
    max_explore: float = 0.6
    exploration: float = 1.0  # UCB bonus weight

    def __post_init__(self) -> None:
        if self.islands < 1 or self.bins < 1 or self.migration_interval < 1:
            raise ValueError("islands, bins and migration_interval must be at least 1")
        if not 0.0 <= self.min_explore <= self.max_explore <= 1.0:
            raise ValueError("need 0 <= min_explore <= max_explore <= 1")
        hidden = [name for name in self.features if name.startswith(HIDDEN_PREFIXES)]
        if hidden:
            raise ValueError(f"held-out figures cannot steer the search: {hidden[0]}")


@dataclass
class _Island:
    archive: Archive
    best: ProgramRecord | None = None
    best_values: dict[str, float] = field(default_factory=dict)  # its features, for migration
    received: int = 0  # programs observed on this island (migrants excluded)
    since_gain: int = 0  # programs since the island's best last improved


@dataclass
class IslandSearch:
    """The default strategy (see the module docstring)."""

    config: IslandConfig = field(default_factory=IslandConfig)
    name: str = "islands"

    def __post_init__(self) -> None:
        self._islands: list[_Island] = []
        self._bandit = Bandit(self.config.islands, exploration=self.config.exploration)
        self._features: tuple[str, ...] = self.config.features

    @property
    def features(self) -> tuple[str, ...]:
        return self._features

    def observe(self, record: ProgramRecord, code_length: int) -> None:
        if not self._islands:
            if record.status != "baseline":
                raise ValueError("the first program a strategy observes must be the baseline")
            self._start(record)
        values = self._values(record, code_length)
        if record.status == "baseline":
            for island in self._islands:
                island.archive.add(record, values)
                if island.best is None:
                    island.best, island.best_values = record, values
            return
        island = self._islands[record.island % len(self._islands)]
        island.received += 1
        gained = record.status in SCORED_STATUSES and (
            island.best is None or (record.score or 0.0) > (island.best.score or 0.0))
        new_elite = record.status in SCORED_STATUSES and island.archive.add(record, values)
        if gained:
            island.best, island.best_values, island.since_gain = record, values, 0
        else:
            island.since_gain += 1
        self._bandit.reward(record.island % len(self._islands),
                            1.0 if gained else 0.5 if new_elite else 0.0)
        if island.received % self.config.migration_interval == 0:
            self._migrate(record.island % len(self._islands))

    def select(self, database: ProgramDatabase, rng: random.Random) -> Selection:
        if not self._islands:
            raise LookupError("the strategy has observed no program yet")
        index = self._bandit.choose()
        island = self._islands[index]
        p_explore = self.config.min_explore + (self.config.max_explore - self.config.min_explore) * (
            1.0 - math.exp(-island.since_gain / self.config.patience))
        intensity: Intensity = "explore" if rng.random() < p_explore else "exploit"
        if intensity == "exploit":
            parent = island.archive.tournament(rng, self.config.tournament_size)
        else:
            parent = island.archive.uniform(rng)
        inspirations = self._inspirations(index, parent, rng)
        reason = (f"island {index} of {len(self._islands)} (UCB: mean reward "
                  f"{self._bandit.mean(index):.2f}); {intensity} with p(explore)={p_explore:.2f} "
                  f"after {island.since_gain} candidate(s) without a gain on this island; parent "
                  f"{parent.key} is one of its {len(island.archive.elites)} elites")
        return Selection(island=index, parent=parent, intensity=intensity,
                         inspirations=tuple(inspirations),
                         top=tuple(database.top(self.config.top)), reason=reason)

    def _start(self, baseline: ProgramRecord) -> None:
        if not self._features:
            metrics = sorted(name for name in baseline.message.metrics
                             if not name.startswith(HIDDEN_PREFIXES))
            self._features = (CODE_LENGTH, *metrics[:1])
        self._islands = [_Island(Archive(self._features, bins=self.config.bins))
                         for _ in range(self.config.islands)]

    def _values(self, record: ProgramRecord, code_length: int) -> dict[str, float]:
        metrics = record.message.metrics
        return {name: float(code_length) if name == CODE_LENGTH else float(metrics.get(name, 0.0))
                for name in self._features}

    def _migrate(self, origin: int) -> None:
        """Offer the island's best to the next island of the ring."""
        source = self._islands[origin]
        if source.best is None or len(self._islands) == 1:
            return
        target = self._islands[(origin + 1) % len(self._islands)]
        target.archive.add(source.best, source.best_values)
        if target.best is None or (source.best.score or 0.0) > (target.best.score or 0.0):
            target.best, target.best_values = source.best, source.best_values

    def _inspirations(self, index: int, parent: ProgramRecord,
                      rng: random.Random) -> list[ProgramRecord]:
        """Elites of other cells of the island, and the best of another island if it differs."""
        wanted = self.config.inspirations
        chosen: list[ProgramRecord] = []
        if len(self._islands) > 1 and wanted:
            other = self._islands[(index + 1 + rng.randrange(len(self._islands) - 1))
                                  % len(self._islands)].best
            if other is not None and other.id != parent.id:
                chosen.append(other)
        for record in self._islands[index].archive.diverse(rng, wanted, avoid=parent):
            if len(chosen) < wanted and all(record.id != c.id for c in chosen):
                chosen.append(record)
        return chosen
