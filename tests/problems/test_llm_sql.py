"""The LLM-SQL problem folder: hit rate, speed term, validation, child handling, discrimination."""

from __future__ import annotations

import pytest

from tests.problems.helpers import (initial_source, load_evaluator, problem_folder, with_constant,
                                    write_candidate)

FOLDER = problem_folder("llm_sql")
ev = load_evaluator("llm_sql")
BASELINE = str(FOLDER / "initial.py")
TWO_ROWS = ev.Workload("two", ["x", "y"], [["1", "2"], ["1", "3"]])


# --- the hit rate, by hand ----------------------------------------------------------------------

def test_common_prefix_and_prefix_hits_by_hand():
    assert ev.common_prefix("title: Star Wars", "title: Star Trek") == 12
    assert ev.common_prefix("abc", "abc") == 3 and ev.common_prefix("abc", "xbc") == 0
    assert ev.common_prefix("", "abc") == 0
    # "ab" shares 2 with "abc"; "abcz" shares 3 with "abc" although "abd" came later.
    assert ev.prefix_hits(["abc", "abd", "ab", "xyz", "abcz"]) == [0, 2, 2, 0, 3]


def test_hit_rate_by_hand():
    # "x: 1\ny: 2\n" then "x: 1\ny: 3\n": 8 of 20 characters hit.
    assert ev.prompts(TWO_ROWS, [(0, [0, 1]), (1, [0, 1])]) == ["x: 1\ny: 2\n", "x: 1\ny: 3\n"]
    assert ev.hit_rate(TWO_ROWS, [(0, [0, 1]), (1, [0, 1])]) == pytest.approx(8 / 20)
    # The second row starting with "y: 3" shares nothing with "x: 1...".
    assert ev.hit_rate(TWO_ROWS, [(0, [0, 1]), (1, [1, 0])]) == 0.0
    # Both with y first: "y: 2\nx: 1\n" and "y: 3\nx: 1\n" share "y: " only.
    assert ev.hit_rate(TWO_ROWS, [(1, [1, 0]), (0, [1, 0])]) == pytest.approx(3 / 20)


@pytest.mark.parametrize("reference, candidate, expected", [
    (0.010, 0.010, 0.5), (0.010, 0.001, 1.0), (0.010, 0.100, 0.0), (0.010, 0.0001, 1.0),
    (0.0005, 0.0001, 0.5),   # both under the 1 ms floor: no one gains from noise
    (0.004, 0.002, 0.5 + 0.5 * 0.30103),
])
def test_speed_term_is_bounded_and_floored(reference, candidate, expected):
    assert ev.speed_term(reference, candidate) == pytest.approx(expected, abs=1e-5)


def test_workload_result_weights_hit_rate_heavily():
    result = ev.WorkloadResult(hit_rate=0.4, reference_hit_rate=0.3, candidate_seconds=1.0,
                               reference_seconds=0.1)
    assert result.speed == pytest.approx(0.0, abs=1e-12)
    assert result.score == pytest.approx(0.95 * 0.4)


def test_workloads_are_seeded_and_shuffled():
    first = ev.make_workload("movies", 3)
    again = ev.make_workload("movies", 3)
    assert first.name == "movies-s3"
    assert (first.columns, first.rows) == (again.columns, again.rows)
    assert ev.make_workload("movies", 4).rows != first.rows
    assert set(first.columns) == {"movie_id", "movie_title", "genres", "release_year", "director",
                                  "review_id", "critic_name", "top_critic", "review_score",
                                  "review_date", "review_text"}
    assert first.columns[0] != "movie_id" or first.columns[1] != "movie_title"  # shuffled
    assert len(first.rows) == 1200 and all(len(row) == 11 for row in first.rows)
    # The movie id fixes the title: a functional dependency.
    id_col, title_col = first.columns.index("movie_id"), first.columns.index("movie_title")
    titles: dict[str, set[str]] = {}
    for row in first.rows:
        titles.setdefault(row[id_col], set()).add(row[title_col])
    assert all(len(found) == 1 for found in titles.values()) and len(titles) > 20
    unique = ev.make_workload("unique", 1)
    flag = unique.columns.index("flag")
    assert {row[flag] for row in unique.rows} == {"yes", "no"}
    assert len({row[unique.columns.index("uuid")] for row in unique.rows}) == 600


# --- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("answer, reason", [
    ({"hit_rate": 1.0}, "expected a list of 2 (row, field order) pairs"),
    ([[0, [0, 1]]], "expected 2 rows, got 1"),
    ([[0, [0, 1]], [0, [0, 1]]], "row 0 appears twice"),
    ([[0, [0, 1]], [2, [0, 1]]], "row 2 is not an int in 0..1"),
    ([[0, [0, 1]], [-1, [0, 1]]], "row -1 is not an int"),
    ([[0, [0, 1]], [True, [0, 1]]], "row True is not an int"),
    ([[0, [0, 1]], [1.0, [0, 1]]], "row 1.0 is not an int"),
    ([[0, [0, 1]], [1, [0, 0]]], "must be a permutation of 0..1"),
    ([[0, [0, 1]], [1, [0]]], "must be a permutation of 0..1"),
    ([[0, [0, 1]], [1, [0, 1, 1]]], "must be a permutation of 0..1"),
    ([[0, [0, 1]], [1, [False, True]]], "must be a permutation of 0..1"),
    ([[0, [0, 1]], [1, "01"]], "must be a permutation of 0..1"),
    ([[0, [0, 1]], [1]], "expected a (row, field order) pair"),
    ([[0, [0, 1]], [1, [0, 1], 0.9]], "expected a (row, field order) pair"),
])
def test_invalid_orders_are_rejected(answer, reason):
    with pytest.raises(ev.InvalidAnswer) as caught:
        ev.validate_order(TWO_ROWS, answer)
    assert reason in str(caught.value)


def test_a_valid_order_passes():
    assert ev.validate_order(TWO_ROWS, [[1, [1, 0]], [0, [0, 1]]]) == [(1, [1, 0]), (0, [0, 1])]


def test_claimed_scores_are_ignored(tmp_path):
    program = write_candidate(tmp_path, (
        "def reorder_table(columns, rows):\n"
        "    print('hit_rate 1.0')\n"
        "    return {'hit_rate': 1.0, 'combined_score': 1.0}\n"), "claims.py")
    result = ev.evaluate(program, workloads=["tiny-s1"])
    assert result["combined_score"] == 0.0
    assert "tiny-s1" in result["error"] and "expected a list of 5" in result["error"]
    cheat = write_candidate(tmp_path, (
        "def reorder_table(columns, rows):\n"
        "    return [(0, list(range(len(columns))))] * len(rows)\n"), "cheat.py")
    result = ev.evaluate(cheat, workloads=["tiny-s1"])
    assert result["combined_score"] == 0.0
    assert "tiny-s1" in result["error"] and "row 0 appears twice" in result["error"]


def test_crash_timeout_and_bad_import_score_zero(tmp_path):
    crash = write_candidate(tmp_path, "def reorder_table(columns, rows):\n"
                                      "    raise IndexError('no such column')\n", "crash.py")
    result = ev.evaluate(crash, workloads=["tiny-s1"])
    assert result["combined_score"] == 0.0
    assert "warm-up input" in result["error"] and "IndexError: no such column" in result["error"]

    bad_import = write_candidate(tmp_path, "import no_such_module_here\n", "bad_import.py")
    assert "import failed" in ev.evaluate(bad_import, workloads=["tiny-s1"])["error"]

    slow = write_candidate(tmp_path, "def reorder_table(columns, rows):\n"
                                    "    while True:\n        pass\n", "slow.py")
    result = ev.score_program(slow, [ev.make_workload("tiny", 1)], timeout_seconds=1.0)
    assert result["combined_score"] == 0.0 and "timed out after 1 s" in result["error"]


def test_unknown_workload_names_are_listed():
    result = ev.evaluate(BASELINE, workloads=["movies-s7"])
    assert result["combined_score"] == 0.0
    assert "movies-s7" in result["error"] and "scores-s1" in result["error"]


# --- the evaluator discriminates ----------------------------------------------------------------

IDENTITY = """
def reorder_table(columns, rows):
    return [(i, list(range(len(columns)))) for i in range(len(rows))]
"""

# GGR that scores a group by every field constant over it (functional dependencies), places
# those fields first as one block, and keeps all-distinct columns out of the grouping work.
DEPENDENCY_AWARE = """
import heapq

MIN_GROUP_ROWS = 3
MAX_DEPTH = 4


def reorder_table(columns, rows):
    fields = list(range(len(columns)))
    repeated = [f for f in fields if len({row[f] for row in rows}) < len(rows)]
    unique = [f for f in fields if f not in repeated]
    ordered = group_rows(columns, rows, list(range(len(rows))), repeated, 0)
    return [(i, order + unique) for i, order in ordered]


def group_rows(columns, rows, ids, fields, depth):
    if len(ids) < MIN_GROUP_ROWS or not fields or depth >= MAX_DEPTH:
        return sort_rows(rows, ids, fields)
    members = {}
    for i in ids:
        for f in fields:
            members.setdefault((f, rows[i][f]), []).append(i)
    shared = {}
    for key, group in members.items():
        if len(group) >= MIN_GROUP_ROWS:
            first = rows[group[0]]
            shared[key] = sum(len(columns[f]) + len(first[f]) + 3 for f in fields
                              if all(rows[i][f] == first[f] for i in group))
    size = {key: len(members[key]) for key in shared}
    heap = [(-(size[k] - 1) * shared[k], k) for k in shared]
    heapq.heapify(heap)
    placed, out = set(), []
    while heap:
        negative, key = heapq.heappop(heap)
        score = (size[key] - 1) * shared[key]
        if -negative != score:
            if size[key] >= MIN_GROUP_ROWS:
                heapq.heappush(heap, (-score, key))
            continue
        group = [i for i in members[key] if i not in placed]
        first = rows[group[0]]
        constant = [f for f in fields if all(rows[i][f] == first[f] for i in group)]
        rest = [f for f in fields if f not in constant]
        out.extend((i, constant + order)
                   for i, order in group_rows(columns, rows, group, rest, depth + 1))
        for i in group:
            placed.add(i)
            for f in fields:
                if (f, rows[i][f]) in size:
                    size[(f, rows[i][f])] -= 1
    return out + sort_rows(rows, [i for i in ids if i not in placed], fields)


def sort_rows(rows, ids, fields):
    distinct = {f: len({rows[i][f] for i in ids}) for f in fields}
    order = sorted(fields, key=lambda f: (distinct[f], f))
    return [(i, list(order)) for i in sorted(ids, key=lambda i: [rows[i][f] for f in order])]
"""


def test_baseline_sits_between_a_worse_and_a_better_policy(tmp_path):
    baseline = ev.evaluate(BASELINE)
    worse = ev.evaluate(write_candidate(tmp_path, IDENTITY, "identity.py"))
    better = ev.evaluate(write_candidate(tmp_path, DEPENDENCY_AWARE, "dependency_aware.py"))
    for result in (baseline, worse, better):
        assert "error" not in result, result.get("error")
    print(f"baseline {baseline['combined_score']:.4f} (hit {baseline['hit_rate']:.4f}, "
          f"{baseline['runtime_ms']:.1f} ms); dependency-aware {better['combined_score']:.4f} "
          f"(hit {better['hit_rate']:.4f}, {better['speedup_vs_baseline']:.2f}x); "
          f"identity {worse['combined_score']:.4f} (hit {worse['hit_rate']:.4f})")
    assert baseline["hit_rate"] == pytest.approx(baseline["baseline_hit_rate"])
    # Sending the table as it is, however fast, loses to the baseline.
    assert worse["hit_rate"] < baseline["hit_rate"] - 0.1
    assert worse["combined_score"] < baseline["combined_score"] - 0.05
    assert better["hit_rate"] > baseline["hit_rate"] + 0.005
    assert better["combined_score"] > baseline["combined_score"] + 0.004
    assert "vs baseline" in baseline["artifacts"]["worst_workloads"]


def test_tuning_the_length_power_improves_train_and_heldout(tmp_path):
    tuned = write_candidate(tmp_path, with_constant(initial_source("llm_sql"), "LENGTH_POWER",
                                                    "1.5"), "length_power.py")
    for run in (ev.evaluate, ev.evaluate_heldout):
        before, after = run(BASELINE), run(tuned)
        print(f"{run.__name__}: hit rate {before['hit_rate']:.4f} -> {after['hit_rate']:.4f}, "
              f"combined {before['combined_score']:.4f} -> {after['combined_score']:.4f}")
        assert after["hit_rate"] > before["hit_rate"] + 0.01
        assert after["combined_score"] > before["combined_score"]


def test_hit_rates_are_deterministic():
    first = ev.evaluate(BASELINE, workloads=["beer-s1", "unique-s1"])
    second = ev.evaluate(BASELINE, workloads=["beer-s1", "unique-s1"])
    assert first["hit_rate"] == second["hit_rate"]
    assert first["baseline_hit_rate"] == second["baseline_hit_rate"]
    assert set(first["per_workload"]) == {"beer-s1", "unique-s1"}
