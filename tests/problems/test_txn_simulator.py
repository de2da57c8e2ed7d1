"""problems/txn_scheduling: the two conflict models, checked against brute-force references."""

from __future__ import annotations

import itertools
import random
from types import ModuleType

import pytest

from tests.problems.helpers import load_evaluator, problem_folder

FOLDER = problem_folder("txn_scheduling")


@pytest.fixture(scope="module")
def ev() -> ModuleType:
    return load_evaluator("txn_scheduling")


R = lambda key: ("r", key)  # noqa: E731  (short names keep the hand-made batches readable)
W = lambda key: ("w", key)  # noqa: E731


# --------------------------------------------------------------------------- the default model, by hand

def test_conflict_model_readme_example(ev):
    batch = [[W(1)] * 5, [W(1)], [W(7)] * 3]
    # A writes key 1 at 0..4, B's write goes at 5; C shares no key and starts at 0.
    assert ev.start_times(batch, [0, 1, 2]) == [0, 5, 0]
    assert ev.makespan(batch, [0, 1, 2]) == 6
    assert ev.start_times(batch, [0, 2, 1]) == [0, 0, 5]
    assert ev.makespan(batch, [0, 2, 1]) == 6
    assert ev.makespan(batch, [1, 0, 2]) == 6  # B at 0, A's writes at 1..5


def test_conflict_model_pipelines_writes_in_the_same_order(ev):
    batch = [[W(1), W(2), W(3)], [W(1), W(2), W(3)]]
    assert ev.start_times(batch, [0, 1]) == [0, 1]
    assert ev.makespan(batch, [0, 1]) == 4
    assert ev.makespan(batch, [0, 1], "strict-2pl") == 6  # waits for the commit at 3


def test_conflict_model_reads_share_a_key_and_writes_follow_them(ev):
    batch = [[W(1)], [R(1), R(1), R(1)], [R(5), R(1)], [W(1)]]
    # The reads follow the write at 0 and overlap each other (T2 reads at 1, as T1 does); the
    # last write follows them all: after T1's read at 3.
    assert ev.start_times(batch, [0, 1, 2, 3]) == [0, 1, 0, 4]
    assert ev.makespan(batch, [0, 1, 2, 3]) == 5
    assert ev.start_times([[R(1), R(2)], [R(1)]], [0, 1]) == [0, 0]


def test_conflict_model_a_read_waits_only_for_the_write(ev):
    # T0 writes key 1 at 0; T1 reads it at offset 1, i.e. at 1 > 0: no wait at all.
    batch = [[W(1), R(2), R(3)], [R(9), R(1)]]
    assert ev.start_times(batch, [0, 1]) == [0, 0]
    assert ev.makespan(batch, [0, 1]) == 3
    # Reversed: T1 reads key 1 at 1; T0's write must come after it, at 2.
    assert ev.start_times(batch, [1, 0]) == [0, 2]
    assert ev.makespan(batch, [1, 0]) == 5


def test_conflict_model_follows_the_latest_operation_not_the_last_placed(ev):
    # T1 reads key 1 at 4; T2, placed after it, reads it earlier (at 1: only the write at 0
    # binds a read). T3's write follows the latest operation, T1's read at 4, not T2's.
    batch = [[W(1)], [R(7), R(7), R(7), R(7), R(1)], [R(1)], [W(1)]]
    assert ev.start_times(batch, [0, 1, 2, 3]) == [0, 0, 1, 5]
    assert ev.makespan(batch, [0, 1, 2, 3]) == 6


def _reference_conflict_starts(batch, order):
    """Independent check: try every start in turn against every earlier operation's time."""
    placed, starts = [], []  # placed: (key, time, writes) of every operation so far
    for t in order:
        start = 0
        while any(key == k and time <= when and (op == "w" or writes)
                  for offset, (op, key) in enumerate(batch[t]) for time in [start + offset]
                  for k, when, writes in placed):
            start += 1
        placed += [(key, start + offset, op == "w") for offset, (op, key) in enumerate(batch[t])]
        starts.append(start)
    return starts


# --------------------------------------------------------------------------- the strict-2pl variant, by hand

def _2pl(ev, batch, order):
    return ev.start_times(batch, order, "strict-2pl")


def test_write_conflict_delays_until_the_lock_is_released(ev):
    # T0 holds key 1 exclusively over [0, 3); T1 would take it at offset 1: s + 1 >= 3.
    batch = [[W(1), R(2), R(3)], [R(9), R(1)]]
    assert _2pl(ev, batch, [0, 1]) == [0, 2]
    assert ev.makespan(batch, [0, 1], "strict-2pl") == 4
    # Reversed: T1 reads key 1 over [1, 2); T0 would write it over [s, s + 3): s >= 2.
    assert _2pl(ev, batch, [1, 0]) == [0, 2]
    assert ev.makespan(batch, [1, 0], "strict-2pl") == 5


def test_no_start_before_the_previous_start(ev):
    # B waits for A's lock (start 5); C conflicts with nobody but may not start before B.
    batch = [[W(1)] * 5, [W(1)], [W(7)] * 3]
    assert _2pl(ev, batch, [0, 1, 2]) == [0, 5, 5]
    assert ev.makespan(batch, [0, 1, 2], "strict-2pl") == 8
    assert _2pl(ev, batch, [0, 2, 1]) == [0, 0, 5]
    assert ev.makespan(batch, [0, 2, 1], "strict-2pl") == 6


def test_a_short_transaction_fits_before_a_late_lock(ev):
    # T0 takes key 1 only at offset 3 ([3, 4)); T1 holds it over [0, 1); T2 fits in [1, 3).
    batch = [[R(8), R(8), R(8), W(1)], [W(1)], [W(1), W(1)]]
    assert _2pl(ev, batch, [0, 1, 2]) == [0, 0, 1]
    assert ev.makespan(batch, [0, 1, 2], "strict-2pl") == 4


def test_lock_intervals_are_half_open(ev):
    # T0 holds key 1 over [0, 2); T1 takes it at offset 2, i.e. over [2, 3): no overlap at s = 0.
    batch = [[W(1), R(5)], [R(6), R(6), W(1)]]
    assert _2pl(ev, batch, [0, 1]) == [0, 0]
    assert ev.makespan(batch, [0, 1], "strict-2pl") == 3


def test_a_later_write_makes_the_whole_lock_exclusive(ev):
    upgraded = [[R(1), R(2), W(1)], [R(1)]]
    assert _2pl(ev, upgraded, [0, 1]) == [0, 3]
    assert ev.makespan(upgraded, [0, 1], "strict-2pl") == 4
    read_only = [[R(1), R(2), R(1)], [R(1)]]
    assert _2pl(ev, read_only, [0, 1]) == [0, 0]
    assert ev.makespan(read_only, [0, 1], "strict-2pl") == 3


def test_unknown_models_are_refused(ev, tmp_path):
    with pytest.raises(ValueError, match="unknown model 'optimistic'"):
        ev.start_times([[W(1)]], [0], "optimistic")
    toml = tmp_path / "problem.toml"
    toml.write_text((FOLDER / "problem.toml").read_text().replace('model = "conflict"',
                                                                  'model = "2pl"'))
    with pytest.raises(ValueError, match="model = '2pl' is not one of conflict, strict-2pl"):
        ev.load_settings(toml)


def _reference_2pl_starts(batch, order):
    """Independent check: try every start in turn and compare lock intervals as sets of ticks."""
    def locks(ops, start):
        held = {}
        for index, (op, key) in enumerate(ops):
            first, writes = held.get(key, (index, False))
            held[key] = (first, writes or op == "w")
        return {key: (set(range(start + first, start + len(ops))), writes)
                for key, (first, writes) in held.items()}

    placed, starts, floor = [], [], 0
    for t in order:
        start = floor
        while True:
            mine = locks(batch[t], start)
            clash = any(key in theirs and (writes or theirs[key][1]) and ticks & theirs[key][0]
                        for theirs in placed for key, (ticks, writes) in mine.items())
            if not clash:
                break
            start += 1
        placed.append(mine)
        starts.append(start)
        floor = start
    return starts


REFERENCES = {"conflict": _reference_conflict_starts, "strict-2pl": _reference_2pl_starts}


@pytest.mark.parametrize("model", sorted(REFERENCES))
def test_simulator_matches_a_brute_force_reference(ev, model):
    rng = random.Random(7)
    for _ in range(200):
        batch = [[(rng.choice("rw"), rng.randrange(4)) for _ in range(rng.randint(1, 6))]
                 for _ in range(rng.randint(1, 7))]
        order = list(range(len(batch)))
        rng.shuffle(order)
        assert ev.start_times(batch, order, model) == REFERENCES[model](batch, order)


def test_bounds_and_score(ev):
    batch = [[W(1)] * 5, [W(1)], [W(7)] * 3]
    assert ev.bounds(batch) == (5, 9)
    assert ev.workload_score(batch, 9) == 0.0
    assert ev.workload_score(batch, 5) == 1.0
    assert ev.workload_score(batch, 6) == pytest.approx(0.75)
    assert ev.bounds([]) == (0, 0) and ev.makespan([], []) == 0
    assert ev.workload_score([], 0) == 1.0
    assert ev.workload_score([[W(1)]], 1) == 1.0


@pytest.mark.parametrize("model", ["conflict", "strict-2pl"])
def test_every_order_lies_within_the_bounds(ev, model):
    batch = ev.generate("zipf", 1)[:30]
    lower, upper = ev.bounds(batch)
    rng = random.Random(3)
    for _ in range(20):
        order = list(range(len(batch)))
        rng.shuffle(order)
        assert lower <= ev.makespan(batch, order, model) <= upper


# --------------------------------------------------------------------------- workloads and settings

def test_workloads_are_seeded_and_named(ev):
    settings = ev.load_settings()
    assert len(settings.train_seeds) == 6 and len(settings.heldout_seeds) == 6
    assert not set(settings.train_seeds) & set(settings.heldout_seeds)
    train = ev.build_workloads(settings.train_seeds)
    assert list(train)[:4] == ["zipf-s1", "rmw-s1", "rfwl-s1", "edge-s1"]
    assert len(train) == 24
    assert ev.build_workloads(settings.train_seeds) == train
    assert ev.generate("zipf", 1) != ev.generate("zipf", 2)
    for name, batch in train.items():
        assert len(batch) == 100, name
        assert all(1 <= len(ops) <= 21 for ops in batch), name
        assert all(op in ("r", "w") and type(key) is int for ops in batch for op, key in ops)
    assert all(5 <= len(ops) <= 21 for ops in train["zipf-s1"])
    with pytest.raises(ValueError, match="unknown workload family"):
        ev.generate("nope", 1)


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize("model", sorted(REFERENCES))
def test_the_simulator_is_exact_on_all_small_orders(ev, model):
    # Every order of a small contended batch, checked against the reference.
    batch = [[R(1), W(2)], [W(1)], [R(2), R(2), W(1)], [W(2), R(3)]]
    for order in itertools.permutations(range(len(batch))):
        assert ev.start_times(batch, list(order), model) == REFERENCES[model](batch, list(order))
