"""The program database: an immutable view of every program of a run, rebuilt from git alone.

Order matters and is canonical: records are kept sorted by (iteration, slot, key), the order
`RunRepository.records()` returns, so a database rebuilt after a resume equals the one built
step by step, and every choice made from it (ties, sampling) is the same.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

from adrs.workspace.messages import SCORED_STATUSES
from adrs.workspace.repository import ProgramRecord

MIN_PREFIX = 4


class RecordSource(Protocol):
    """What the database needs from a run repository."""

    def records(self) -> list[ProgramRecord]: ...


def _order(record: ProgramRecord) -> tuple[int, int, str]:
    return (record.iteration, record.slot, record.key)


@dataclass(frozen=True)
class ProgramDatabase:
    """Every committed program (scored or not), in canonical order."""

    records: tuple[ProgramRecord, ...] = ()

    def __post_init__(self) -> None:
        ids = [record.id for record in self.records]
        if len(set(ids)) != len(ids):
            raise ValueError("program database has duplicate commit ids")

    @classmethod
    def from_repository(cls, repo: RecordSource) -> ProgramDatabase:
        return cls(tuple(sorted(repo.records(), key=_order)))

    def with_record(self, record: ProgramRecord) -> ProgramDatabase:
        """A database with `record` added (the same record again changes nothing)."""
        for known in self.records:
            if known.id == record.id:
                if known != record:
                    raise ValueError(f"program {record.id[:12]} is already known with other data")
                return self
        return ProgramDatabase(tuple(sorted((*self.records, record), key=_order)))

    def __len__(self) -> int:
        return len(self.records)

    def get(self, id_or_prefix: str) -> ProgramRecord:
        """A program by full id, unique id prefix (at least 4 characters) or key (i0007-s0)."""
        for record in self.records:
            if id_or_prefix in (record.id, record.key):
                return record
        matches = [r for r in self.records if len(id_or_prefix) >= MIN_PREFIX
                   and r.id.startswith(id_or_prefix)]
        if len(matches) == 1:
            return matches[0]
        reason = "ambiguous" if matches else "unknown"
        raise KeyError(f"{reason} program id: {id_or_prefix}")

    def score_of(self, id_or_prefix: str) -> float | None:
        return self.get(id_or_prefix).score

    @property
    def baseline(self) -> ProgramRecord:
        for record in self.records:
            if record.status == "baseline":
                return record
        raise LookupError("the program database has no baseline")

    @property
    def evaluated(self) -> tuple[ProgramRecord, ...]:
        """The scored programs (baseline and evaluated), in canonical order."""
        return tuple(r for r in self.records if r.status in SCORED_STATUSES)

    @property
    def best(self) -> ProgramRecord:
        """The highest score; among equal scores the earliest program."""
        ranked = self.top(1)
        if not ranked:
            raise LookupError("the program database has no scored program")
        return ranked[0]

    def top(self, k: int, island: int | None = None) -> list[ProgramRecord]:
        """The k best scored programs (of one island if given), best first, ties by age."""
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        pool = [r for r in self.evaluated if island is None or r.island == island]
        ranked = sorted(enumerate(pool), key=lambda item: (-_score(item[1]), item[0]))
        return [record for _, record in ranked[:k]]

    def fingerprints(self) -> frozenset[str]:
        """The critic's duplicate keys of every committed program, scored or not."""
        return frozenset(r.message.fingerprint for r in self.records if r.message.fingerprint)

    def recent(self, n: int) -> list[ProgramRecord]:
        """The last n programs of any status, oldest first."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return list(self.records[-n:]) if n else []

    def sample_parent(self, rng: random.Random, *, island: int | None = None,
                      exploit_ratio: float = 0.7, tournament_size: int = 3) -> ProgramRecord:
        """A scored program to derive the next candidate from.

        With probability `exploit_ratio`: the best of `tournament_size` programs drawn without
        replacement; otherwise one drawn uniformly. The pool is the island's scored programs, or
        every scored program while the island has none. Exactly one rng.random() call, then one
        rng.sample() or rng.choice(), so the draw depends only on the rng state and the order."""
        if not 0.0 <= exploit_ratio <= 1.0:
            raise ValueError(f"exploit_ratio must be in [0, 1], got {exploit_ratio}")
        if tournament_size < 1:
            raise ValueError(f"tournament_size must be >= 1, got {tournament_size}")
        scored = self.evaluated
        pool = [r for r in scored if island is None or r.island == island] or list(scored)
        if not pool:
            raise LookupError("no scored program to sample a parent from")
        if rng.random() < exploit_ratio:
            drawn = rng.sample(range(len(pool)), min(tournament_size, len(pool)))
            return pool[min(drawn, key=lambda index: (-_score(pool[index]), index))]
        return rng.choice(pool)


def _score(record: ProgramRecord) -> float:
    if record.score is None:
        raise ValueError(f"program {record.id[:12]} has no score")
    return record.score
