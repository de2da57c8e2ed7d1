"""The search strategies: the UCB bandit, the MAP-Elites archive and the island search."""

from __future__ import annotations

import random

import pytest

from adrs.agents.search import IslandConfig, IslandSearch, SearchConfigError, island_search
from adrs.agents.search.archive import Archive
from adrs.agents.search.ucb import Bandit
from adrs.workspace.database import ProgramDatabase
from adrs.workspace.messages import CandidateMessage
from adrs.workspace.records import ProgramRecord


def record(n: int, score: float | None, *, island: int = 0, status: str = "evaluated",
           metric: float = 0.0) -> ProgramRecord:
    message = CandidateMessage(summary=f"p{n}", status="baseline" if n == 0 else status,
                               iteration=n, island=island, score=score,
                               metrics={"latency": metric})
    return ProgramRecord(id=f"{n:040x}", parent_id=None, key=f"i{n:04d}-s0", message=message,
                         program_blob="b" * 40)


def test_the_bandit_tries_every_arm_then_favours_the_rewarding_one():
    bandit = Bandit(3)
    assert [bandit.choose() for _ in range(3)] == [0, 1, 2]  # pulls count before rewards arrive
    for _ in range(30):
        arm = bandit.choose()
        bandit.reward(arm, 1.0 if arm == 2 else 0.0)
    picks = [bandit.choose() for _ in range(20)]
    assert picks.count(2) > picks.count(0) and picks.count(2) > picks.count(1)
    with pytest.raises(ValueError):
        Bandit(0)


def test_the_archive_keeps_the_best_of_each_cell():
    archive = Archive(("latency",), bins=2)
    assert archive.add(record(0, 0.5), {"latency": 0.0})
    assert archive.add(record(1, 0.9), {"latency": 10.0})  # another cell
    assert not archive.add(record(2, 0.4), {"latency": 9.0})  # same cell as 1, worse
    assert archive.add(record(3, 0.95), {"latency": 9.5})  # same cell, better: replaces 1
    assert [r.key for r in archive.ranked()] == ["i0003-s0", "i0000-s0"]
    rng = random.Random(1)
    assert archive.diverse(rng, 3, avoid=record(3, 0.95)) == [record(0, 0.5)]


def fold(strategy: IslandSearch, records: list[ProgramRecord]) -> ProgramDatabase:
    database = ProgramDatabase()
    for r in records:
        database = database.with_record(r)
        strategy.observe(r, code_length=100 + r.iteration)
    return database


def test_islands_choose_parents_from_their_archives_with_inspirations_and_reasons():
    strategy = IslandSearch(IslandConfig(islands=2, inspirations=2, migration_interval=2))
    records = [record(0, 0.1), record(1, 0.5, island=0, metric=1.0), record(2, 0.3, island=1),
               record(3, 0.7, island=0, metric=5.0), record(4, None, island=1, status="failed")]
    database = fold(strategy, records)
    assert strategy.features == ("code_length", "latency")  # the default: length + a metric
    choices = [strategy.select(database, random.Random(seed)) for seed in range(6)]
    assert {c.island for c in choices} == {0, 1}  # the bandit spreads concurrent picks
    for choice in choices:
        assert choice.parent.score is not None
        assert choice.parent.id not in {r.id for r in choice.inspirations}
        assert choice.top[0].key == "i0003-s0" and choice.intensity in ("exploit", "explore")
        assert f"island {choice.island} of 2" in choice.reason
    # Island 0's best (0.7) migrated to island 1 after its second program.
    island1 = [c for c in choices if c.island == 1]
    assert any(c.parent.key == "i0003-s0" or any(r.key == "i0003-s0" for r in c.inspirations)
               for c in island1)


def test_the_same_programs_give_the_same_choices():
    def choices():
        strategy = IslandSearch()
        database = fold(strategy, [record(n, n / 10, island=n % 3) for n in range(8)])
        return [strategy.select(database, random.Random(f"s{n}")) for n in range(5)]
    assert choices() == choices()


def test_held_out_figures_cannot_steer_the_search():
    with pytest.raises(SearchConfigError, match="held-out figures cannot steer the search"):
        island_search({"features": ["code_length", "heldout_score"]})
    with pytest.raises(SearchConfigError, match=r"\[search\] islands"):
        island_search({"islands": 0})
    with pytest.raises(SearchConfigError, match="colour"):
        island_search({"colour": "blue"})
    with pytest.raises(SearchConfigError, match=r"search must be a table"):
        island_search(3)
    strategy = IslandSearch()
    baseline = record(0, 0.1)
    baseline = ProgramRecord(id=baseline.id, parent_id=None, key=baseline.key,
                             program_blob=baseline.program_blob,
                             message=baseline.message.model_copy(
                                 update={"metrics": {"heldout_score": 1.0, "cost": 2.0}}))
    strategy.observe(baseline, 10)
    assert strategy.features == ("code_length", "cost")
