"""ProgramDatabase: queries, immutability, and seeded parent selection."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from adrs.workspace.database import ProgramDatabase
from adrs.workspace.messages import CandidateMessage
from adrs.workspace.repository import ProgramRecord, RunRepository


def record(n: int, status: str, score: float | None, *, island: int = 0, slot: int = 0,
           fingerprint: str = "") -> ProgramRecord:
    """A synthetic program at iteration n; its id is n in hex, padded to a sha's length."""
    message = CandidateMessage(summary=f"p{n}", status=status, iteration=n, slot=slot,
                               island=island, score=score, fingerprint=fingerprint)
    return ProgramRecord(id=f"{n:02x}{slot}".ljust(40, "0"), parent_id=None,
                         key=f"i{n:04d}-s{slot}", message=message, program_blob="b" * 40)


def ladder() -> ProgramDatabase:
    """Baseline 0 scoring 0, programs 1..9 scoring their number, and an unscored rejected
    (iteration 4) and failed (iteration 6) program in between: 12 records, 10 scored."""
    records = [record(0, "baseline", 0.0)]
    records += [record(n, "evaluated", float(n), fingerprint=f"fp{n}") for n in range(1, 10)]
    records += [record(4, "rejected", None, slot=1, fingerprint="fp-rej"),
                record(6, "failed", None, slot=1)]
    return ProgramDatabase(tuple(sorted(records, key=lambda r: (r.iteration, r.slot))))


def test_queries() -> None:
    db = ladder()
    assert len(db) == 12
    assert db.baseline.key == "i0000-s0"
    assert db.best.key == "i0009-s0"
    assert [r.key for r in db.top(3)] == ["i0009-s0", "i0008-s0", "i0007-s0"]
    assert len(db.evaluated) == 10
    assert db.fingerprints() == frozenset({f"fp{n}" for n in range(1, 10)} | {"fp-rej"})
    assert [r.key for r in db.recent(3)] == ["i0007-s0", "i0008-s0", "i0009-s0"]
    assert db.recent(0) == [] and len(db.recent(50)) == 12
    assert db.score_of("i0004-s1") is None
    assert db.score_of("09" + "0" * 38) == 9.0


def test_best_breaks_ties_by_age() -> None:
    db = ProgramDatabase((record(0, "baseline", 5.0), record(1, "evaluated", 5.0),
                          record(2, "evaluated", 4.0)))
    assert db.best.key == "i0000-s0"
    assert [r.key for r in db.top(2)] == ["i0000-s0", "i0001-s0"]


def test_get_by_id_prefix_and_key() -> None:
    db = ladder()
    assert db.get("0300").key == "i0003-s0"
    assert db.get("i0006-s1").status == "failed"
    twins = ProgramDatabase((replace(record(1, "evaluated", 1.0), id="abcd1" + "0" * 35),
                             replace(record(2, "evaluated", 2.0), id="abcd2" + "0" * 35)))
    assert twins.get("abcd2").key == "i0002-s0"
    with pytest.raises(KeyError, match="ambiguous"):
        twins.get("abcd")
    with pytest.raises(KeyError, match="unknown"):
        db.get("ffff")
    with pytest.raises(KeyError, match="unknown"):
        db.get("03")  # too short to be a prefix


def test_with_record_is_an_immutable_update() -> None:
    db = ProgramDatabase((record(0, "baseline", 1.0),))
    newer = db.with_record(record(2, "evaluated", 3.0)).with_record(record(1, "rejected", None))
    assert len(db) == 1
    assert [r.key for r in newer.records] == ["i0000-s0", "i0001-s0", "i0002-s0"]
    assert newer.with_record(record(2, "evaluated", 3.0)) is newer
    with pytest.raises(ValueError, match="already known"):
        newer.with_record(record(2, "evaluated", 4.0))


def test_top_and_sampling_by_island() -> None:
    db = ProgramDatabase((record(0, "baseline", 1.0), record(1, "evaluated", 9.0, island=1),
                          record(2, "evaluated", 2.0, island=0)))
    assert [r.key for r in db.top(5, island=0)] == ["i0002-s0", "i0000-s0"]
    rng = random.Random(3)
    assert {db.sample_parent(rng, island=1).key for _ in range(20)} == {"i0001-s0"}
    # An island without programs yet draws from every scored program.
    assert {db.sample_parent(rng, island=2).key for _ in range(200)} == {
        "i0000-s0", "i0001-s0", "i0002-s0"}


def test_sampling_is_deterministic_for_a_seed() -> None:
    db = ladder()
    first = [db.sample_parent(random.Random(11)).id for _ in range(3)]
    rng_a, rng_b = random.Random(42), random.Random(42)
    picks_a = [db.sample_parent(rng_a).key for _ in range(200)]
    picks_b = [db.sample_parent(rng_b).key for _ in range(200)]
    assert picks_a == picks_b
    assert len(set(first)) == 1
    assert len(set(picks_a)) > 3


def test_sampling_exploits_more_than_it_explores_and_skips_unscored() -> None:
    db = ladder()
    rng = random.Random(2024)
    draws = 4000
    counts = Counter(db.sample_parent(rng).key for _ in range(draws))
    assert "i0004-s1" not in counts and "i0006-s1" not in counts
    assert set(counts) <= {r.key for r in db.evaluated}
    # Ten scored programs. P(best) = 0.7 * P(best among 3 of 10 drawn) + 0.3 * 1/10
    #                                = 0.7 * 0.3 + 0.03 = 0.24; the worst is picked only when
    # exploring: 0.3 * 1/10 = 0.03. Standard deviation at 4000 draws is below 0.007.
    assert 0.22 < counts["i0009-s0"] / draws < 0.26
    assert 0.015 < counts["i0000-s0"] / draws < 0.045


def test_sampling_extremes() -> None:
    db = ladder()
    rng = random.Random(5)
    always_best = {db.sample_parent(rng, exploit_ratio=1.0, tournament_size=10).key
                   for _ in range(50)}
    assert always_best == {"i0009-s0"}
    uniform = Counter(db.sample_parent(rng, exploit_ratio=0.0).key for _ in range(5000))
    assert len(uniform) == 10 and max(uniform.values()) / 5000 < 0.13
    with pytest.raises(ValueError, match="exploit_ratio"):
        db.sample_parent(rng, exploit_ratio=1.5)
    with pytest.raises(LookupError, match="no scored program"):
        ProgramDatabase((record(1, "rejected", None),)).sample_parent(rng)


def test_rebuilt_from_a_repository(tmp_path: Path) -> None:
    problem = tmp_path / "problem"
    problem.mkdir()
    (problem / "initial.py").write_text("x = 1\n")
    (problem / "problem.toml").write_text('name = "tiny"\n')
    with RunRepository.create(tmp_path / "run", problem, "tiny") as run:
        base = run.commit_baseline("x = 1\n", CandidateMessage(
            summary="Baseline", status="baseline", iteration=0, score=1.0))
        good = run.commit_candidate(key="i0001-s0", parent=base, source="x = 2\n",
                                    message=CandidateMessage(summary="Two", status="evaluated",
                                                             iteration=1, score=2.0,
                                                             fingerprint="two"))
        run.commit_candidate(key="i0001-s1", parent=good, source="x = 3\n",
                             message=CandidateMessage(summary="Three", status="rejected",
                                                      iteration=1, slot=1, fingerprint="three"))
        db = ProgramDatabase.from_repository(run)
        assert [r.key for r in db.records] == ["i0000-s0", "i0001-s0", "i0001-s1"]
        assert db.best.id == good and db.baseline.id == base
        assert db.fingerprints() == frozenset({"two", "three"})
        step_by_step = ProgramDatabase().with_record(run.records()[2]).with_record(
            run.records()[0]).with_record(run.records()[1])
        assert step_by_step == db


def test_snapshots_share_one_store_and_never_see_later_programs() -> None:
    db = ProgramDatabase((record(0, "baseline", 0.0),))
    grown = db.with_record(record(1, "evaluated", 3.0, fingerprint="fp1"))
    tip = grown.with_record(record(2, "evaluated", 1.0, fingerprint="fp2"))
    assert (len(db), len(grown), len(tip)) == (1, 2, 3)
    assert db.best.key == "i0000-s0" and tip.best.key == "i0001-s0"
    assert "i0002-s0" in tip and "i0002-s0" not in grown
    assert "fp2" in tip.known_fingerprints() and "fp2" not in grown.known_fingerprints()
    assert tip.prefix(2) == grown and tip.prefix(2).top(5) == grown.top(5)
    # Growing an older snapshot copies: the newer one is unchanged.
    branch = grown.with_record(record(2, "evaluated", 9.0, slot=1))
    assert branch.best.score == 9.0 and tip.best.score == 3.0 and len(tip) == 3
    assert tip.rank_of(tip.get("i0002-s0")) == 2 and tip.scored_count == 3
    with pytest.raises(ValueError, match="cannot hold"):
        grown.prefix(3)
