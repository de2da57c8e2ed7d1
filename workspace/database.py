"""The program database: an immutable snapshot of every program of a run, rebuilt from git alone.

Order matters and is canonical: records are kept sorted by (iteration, slot, key), the order
`RunRepository.records()` returns, so a database rebuilt after a resume equals the one built
step by step, and every choice made from it (ties, sampling) is the same.

A snapshot is a prefix of an append-only store shared by the snapshots that extend it. Adding the
next program to the newest snapshot appends to the store in constant time, and the indexes (by id,
by key, by fingerprint, the best so far, the ranking) let the queries a run makes per candidate
cost the same at the 5000th program as at the 5th. Older snapshots never see what came later.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Container, Iterable
from typing import Protocol

from adrs.workspace.messages import SCORED_STATUSES
from adrs.workspace.records import ProgramRecord

MIN_PREFIX = 4


class RecordSource(Protocol):
    """What the database needs from a run repository."""

    def records(self) -> list[ProgramRecord]: ...


def _order(record: ProgramRecord) -> tuple[int, int, str]:
    return (record.iteration, record.slot, record.key)


def _score(record: ProgramRecord) -> float:
    if record.score is None:
        raise ValueError(f"program {record.id[:12]} has no score")
    return record.score


class _Store:
    """Append-only records in canonical order, with the indexes the snapshots share."""

    def __init__(self) -> None:
        self.records: list[ProgramRecord] = []
        self.position: dict[str, int] = {}  # commit id and key -> index
        self.fingerprint: dict[str, int] = {}  # fingerprint -> first index
        self.scored: list[int] = []  # indexes of scored records, ascending
        self.best: list[int] = []  # best[i]: index of the best scored record among the first i+1
        self.ranking: list[tuple[float, int]] = []  # (-score, index), ascending: best first
        self.baseline: int | None = None

    def append(self, record: ProgramRecord) -> None:
        if record.id in self.position:
            raise ValueError("program database has duplicate commit ids")
        if self.records and _order(record) <= _order(self.records[-1]):
            raise ValueError(f"program {record.key} does not come after {self.records[-1].key}")
        index = len(self.records)
        self.records.append(record)
        self.position[record.id] = self.position[record.key] = index
        if record.message.fingerprint:
            self.fingerprint.setdefault(record.message.fingerprint, index)
        previous = self.best[-1] if self.best else None
        if record.status in SCORED_STATUSES:
            score = _score(record)
            self.scored.append(index)
            bisect.insort(self.ranking, (-score, index))
            if previous is None or score > _score(self.records[previous]):
                previous = index
            if record.status == "baseline" and self.baseline is None:
                self.baseline = index
        self.best.append(previous)  # type: ignore[arg-type]


class ProgramDatabase:
    """Every committed program (scored or not) up to some point of a run, in canonical order."""

    __slots__ = ("_store", "_size")

    def __init__(self, records: Iterable[ProgramRecord] = (), *, _store: _Store | None = None,
                 _size: int | None = None) -> None:
        if _store is None:
            _store = _Store()
            for record in sorted(records, key=_order):
                _store.append(record)
        self._store = _store
        self._size = len(_store.records) if _size is None else _size

    @classmethod
    def from_repository(cls, repo: RecordSource) -> ProgramDatabase:
        return cls(repo.records())

    def with_record(self, record: ProgramRecord) -> ProgramDatabase:
        """A database with `record` added (the same record again changes nothing). Appending
        the next program to the newest snapshot costs O(1); anything else copies."""
        index = self._store.position.get(record.id)
        if index is not None and index < self._size:
            if self._store.records[index] != record:
                raise ValueError(f"program {record.id[:12]} is already known with other data")
            return self
        store = self._store
        at_tip = self._size == len(store.records)
        if at_tip and (not store.records or _order(record) > _order(store.records[-1])):
            store.append(record)
            return ProgramDatabase(_store=store, _size=self._size + 1)
        return ProgramDatabase((*self.records, record))

    def prefix(self, size: int) -> ProgramDatabase:
        """The snapshot of the first `size` programs (O(1): it shares this one's store)."""
        if not 0 <= size <= self._size:
            raise ValueError(f"a prefix of {self._size} programs cannot hold {size}")
        return ProgramDatabase(_store=self._store, _size=size)

    def __len__(self) -> int:
        return self._size

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProgramDatabase) and self.records == other.records

    __hash__ = None  # type: ignore[assignment]

    @property
    def records(self) -> tuple[ProgramRecord, ...]:
        """Every program of the snapshot, oldest first (a copy: O(n); prefer the queries)."""
        return tuple(self._store.records[:self._size])

    def _index(self, name: str) -> int | None:
        index = self._store.position.get(name)
        return index if index is not None and index < self._size else None

    def __contains__(self, id_or_key: object) -> bool:
        return isinstance(id_or_key, str) and self._index(id_or_key) is not None

    def get(self, id_or_prefix: str) -> ProgramRecord:
        """A program by full id, unique id prefix (at least 4 characters) or key (i0007-s0)."""
        index = self._index(id_or_prefix)
        if index is not None:
            return self._store.records[index]
        matches = [r for r in self._store.records[:self._size] if len(id_or_prefix) >= MIN_PREFIX
                   and r.id.startswith(id_or_prefix)]
        if len(matches) == 1:
            return matches[0]
        reason = "ambiguous" if matches else "unknown"
        raise KeyError(f"{reason} program id: {id_or_prefix}")

    def score_of(self, id_or_prefix: str) -> float | None:
        return self.get(id_or_prefix).score

    def last(self) -> ProgramRecord:
        if not self._size:
            raise LookupError("the program database is empty")
        return self._store.records[self._size - 1]

    @property
    def baseline(self) -> ProgramRecord:
        index = self._store.baseline
        if index is None or index >= self._size:
            raise LookupError("the program database has no baseline")
        return self._store.records[index]

    @property
    def evaluated(self) -> tuple[ProgramRecord, ...]:
        """The scored programs (baseline and evaluated), in canonical order."""
        scored = self._store.scored
        return tuple(self._store.records[i] for i in scored[:bisect.bisect_left(scored, self._size)])

    @property
    def scored_count(self) -> int:
        return bisect.bisect_left(self._store.scored, self._size)

    @property
    def best(self) -> ProgramRecord:
        """The highest score; among equal scores the earliest program."""
        index = self._store.best[self._size - 1] if self._size else None
        if index is None:
            raise LookupError("the program database has no scored program")
        return self._store.records[index]

    def top(self, k: int, island: int | None = None) -> list[ProgramRecord]:
        """The k best scored programs (of one island if given), best first, ties by age."""
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        found: list[ProgramRecord] = []
        for _, index in self._store.ranking:
            if len(found) >= k:
                break
            record = self._store.records[index]
            if index < self._size and (island is None or record.island == island):
                found.append(record)
        return found

    def rank_of(self, record: ProgramRecord) -> int:
        """1 + how many scored programs of the snapshot score strictly higher."""
        above = bisect.bisect_left(self._store.ranking, (-_score(record), -1))
        return 1 + sum(1 for _, index in self._store.ranking[:above] if index < self._size)

    def has_fingerprint(self, fingerprint: str) -> bool:
        return self.first_with_fingerprint(fingerprint) is not None

    def first_with_fingerprint(self, fingerprint: str) -> ProgramRecord | None:
        """The snapshot's first program with this duplicate key (the one that was scored)."""
        index = self._store.fingerprint.get(fingerprint)
        return self._store.records[index] if index is not None and index < self._size else None

    def known_fingerprints(self) -> Container[str]:
        """The snapshot's duplicate keys as a container: `fp in db.known_fingerprints()` is O(1)."""
        return _Fingerprints(self)

    def fingerprints(self) -> frozenset[str]:
        """The critic's duplicate keys of every committed program, scored or not (O(n))."""
        return frozenset(fp for fp, index in self._store.fingerprint.items() if index < self._size)

    def recent(self, n: int) -> list[ProgramRecord]:
        """The last n programs of any status, oldest first."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return list(self._store.records[max(0, self._size - n):self._size]) if n else []

    def sample_parent(self, rng: random.Random, *, island: int | None = None,
                      exploit_ratio: float = 0.7, tournament_size: int = 3) -> ProgramRecord:
        """A scored program to derive the next candidate from (O(n); agents/search does better).

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


class _Fingerprints(Container[str]):
    def __init__(self, database: ProgramDatabase) -> None:
        self._database = database

    def __contains__(self, fingerprint: object) -> bool:
        return isinstance(fingerprint, str) and self._database.has_fingerprint(fingerprint)
