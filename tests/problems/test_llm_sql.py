"""The LLM-SQL problem folder: the bounded prefix cache, speed term, validation, child handling,
your own CSV tables, discrimination."""

from __future__ import annotations

import random
import tomllib

import pytest

from tests.problems.helpers import (
    initial_source,
    load_evaluator,
    problem_folder,
    with_constant,
    write_candidate,
)

FOLDER = problem_folder("llm_sql")
ev = load_evaluator("llm_sql")
BASELINE = str(FOLDER / "initial.py")
TWO_ROWS = ev.Workload("two", ["x", "y"], [["1", "2"], ["1", "3"]])


# --- the bounded prefix cache, by hand ---------------------------------------------------------

def test_prefix_cache_hits_and_lru_eviction_by_hand():
    # Blocks of 2 characters. "aabb" caches aa, bb; "aacc" hits aa and caches cc.
    assert ev.prefix_hits(["aabb", "aacc", "aabb"], capacity_blocks=4, block=2) == [0, 2, 4]
    # With room for 2 blocks, "aacc" evicts bb (used least recently), so the third prompt hits
    # aa only; caching its bb then evicts cc.
    assert ev.prefix_hits(["aabb", "aacc", "aabb"], capacity_blocks=2, block=2) == [0, 2, 2]
    assert ev.prefix_hits(["aabb", "aacc", "aabb", "aacc"], 2, block=2) == [0, 2, 2, 2]
    # A prompt's tail leaves before its head: after "aabbcc" in 2 blocks, aa and bb remain.
    assert ev.prefix_hits(["aabbcc", "aabbdd"], capacity_blocks=2, block=2) == [0, 4]
    # Only whole blocks count and only a cached prefix: "aab" caches aa; "xxaa" shares no prefix.
    assert ev.prefix_hits(["aab", "aab", "xxaa"], capacity_blocks=9, block=2) == [0, 2, 0]
    # A hit refreshes a block: aa, hit again after bb, outlives bb when cc needs room.
    assert ev.prefix_hits(["aa", "bb", "aa", "cc", "aa", "bb"], capacity_blocks=2, block=2) == \
        [0, 0, 2, 0, 2, 0]


def test_an_unbounded_cache_of_single_characters_is_the_longest_common_prefix():
    texts = ["abc", "abd", "ab", "xyz", "abcz", "", "xy"]
    assert ev.prefix_hits(texts, capacity_blocks=10**6, block=1) == [0, 2, 2, 0, 3, 0, 2]
    assert ev.common_prefix("title: Star Wars", "title: Star Trek") == 12


def test_hit_rate_by_hand():
    table = ev.Workload("hamilton", ["name", "city"],
                        [["Alexander Hamilton", "New York"], ["Alexander Hamilton", "Nevis"]])
    order = [(0, [0, 1]), (1, [0, 1])]
    assert [len(t) for t in ev.prompts(table, order)] == [40, 37]
    assert table.cache_blocks() == 5  # 5% of 77 characters is less than the two prompts
    # 33 characters are shared; the cache serves whole blocks of 16: 32.
    assert ev.hit_rate(table, order) == pytest.approx(32 / 77)
    assert ev.unbounded_hit_rate(table, order) == pytest.approx(33 / 77)
    # City first: the prompts differ from the 9th character on, before any whole block.
    assert ev.hit_rate(table, [(0, [1, 0]), (1, [1, 0])]) == 0.0


def test_the_cache_holds_a_small_fraction_of_each_table():
    for family in ("movies", "products", "scores"):
        table = ev.make_workload(family, 1)
        characters = sum(table.prompt_lengths())
        assert table.cache_blocks() == -(-characters * ev.CACHE_FRACTION // ev.BLOCK_CHARS)
        assert table.cache_blocks() * ev.BLOCK_CHARS < 0.06 * characters


def _baseline_order(table):
    answer = ev.reference_reorder(table.columns, table.rows)
    return ev.validate_order(table, [[row, list(fields)] for row, fields in answer])


def test_row_order_changes_the_hit_rate():
    table = ev.make_workload("movies", 1)
    grouped = _baseline_order(table)
    shuffled = grouped[:]
    random.Random(0).shuffle(shuffled)
    assert ev.hit_rate(table, shuffled) < ev.hit_rate(table, grouped) - 0.05
    # The public evaluator's unbounded figure cannot tell the two orders apart.
    assert ev.unbounded_hit_rate(table, shuffled) == ev.unbounded_hit_rate(table, grouped)
    # Reversed, every group stays together: the same hits but at the groups' edges.
    assert ev.hit_rate(table, grouped[::-1]) == pytest.approx(ev.hit_rate(table, grouped),
                                                              abs=0.01)


SHUFFLED_BASELINE = """
import random


def reorder_table(columns, rows):
    order = list(baseline(columns, rows))
    random.Random(SHUFFLE_SEED).shuffle(order)
    return order
"""


def test_shuffling_the_baseline_rows_lowers_its_score(tmp_path):
    source = initial_source("llm_sql").replace("def reorder_table(", "def baseline(")
    program = write_candidate(tmp_path, source + SHUFFLED_BASELINE.replace("SHUFFLE_SEED", "7"))
    chosen = ["movies-s1", "posts-s1"]
    baseline, shuffled = ev.evaluate(BASELINE, chosen), ev.evaluate(program, chosen)
    assert shuffled["hit_rate"] < baseline["hit_rate"] - 0.05
    assert shuffled["combined_score"] < baseline["combined_score"] - 0.04


@pytest.mark.parametrize("speedup, expected", [
    (1.0, 0.5), (1.9, 0.5), (0.55, 0.5), (2.1, 0.75), (7.9, 0.75), (8.1, 1.0), (1000.0, 1.0),
    (0.45, 0.25), (0.13, 0.25), (0.12, 0.0), (0.001, 0.0),
])
def test_the_speed_term_moves_in_steps_of_four(speedup, expected):
    assert ev.speed_term(speedup) == expected


def test_speedup_is_a_floored_geometric_mean():
    assert ev.speedup([(0.010, 0.020), (0.010, 0.005)]) == pytest.approx(1.0)
    assert ev.speedup([(0.0001, 0.0005)]) == pytest.approx(1.0)  # both under the 1 ms floor
    assert ev.speedup([(0.001, 0.004)]) == pytest.approx(4.0)


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


def test_scores_repeat_and_timing_metrics_are_declared():
    first = ev.evaluate(BASELINE, workloads=["beer-s1", "unique-s1"])
    second = ev.evaluate(BASELINE, workloads=["beer-s1", "unique-s1"])
    timing = tomllib.loads((FOLDER / "problem.toml").read_text())["timing_metrics"]
    assert set(timing) == {"speedup_vs_baseline", "runtime_ms"}
    assert set(timing) <= set(first)
    steady = {k: v for k, v in first.items() if k not in timing and k != "timings"}
    assert steady == {k: v for k, v in second.items() if k not in timing and k != "timings"}
    assert set(first["per_workload"]) == {"beer-s1", "unique-s1"}
    assert first["artifacts"]["data_source"].startswith("synthetic: seeded generator")


# --- your own tables ----------------------------------------------------------------------------

def _write_table(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(text.encode("utf-8") if isinstance(text, str) else text)


MOVIES_CSV = "title,year,genre\n" + "".join(
    f"Movie {i % 7},{1990 + i % 7},{'Drama' if i % 2 else 'Comedy'}\n" for i in range(60))


def test_tables_come_from_the_data_folder(tmp_path, monkeypatch):
    data = tmp_path / "data"
    _write_table(data, "movies.csv", MOVIES_CSV)
    _write_table(data, "pairs.csv", 'a,b\n"x, with comma",1\ny,2\n')
    monkeypatch.setenv("ADRS_DATA_DIR", str(data))
    result = ev.evaluate(BASELINE)
    assert "error" not in result, result.get("error")
    assert set(result["per_workload"]) == {"movies", "pairs"}
    assert result["artifacts"]["data_source"] == (
        f"csv: {data}: movies (60 rows), pairs (2 rows)")
    assert set(ev.evaluate(BASELINE, workloads=["pairs"])["per_workload"]) == {"pairs"}
    again = ev.evaluate_heldout(BASELINE)
    assert "no heldout/ folder: the training tables" in again["artifacts"]["data_source"]
    _write_table(data / "heldout", "later.csv", MOVIES_CSV.replace("Movie", "Film"))
    heldout = ev.evaluate_heldout(BASELINE)
    assert set(heldout["per_workload"]) == {"later"}
    assert heldout["artifacts"]["data_source"].startswith(f"csv: {data / 'heldout'}: later")
    table = ev.read_table(data / "pairs.csv")
    assert table.columns == ["a", "b"] and table.rows == [["x, with comma", "1"], ["y", "2"]]


@pytest.mark.parametrize("name, content, reason", [
    ("ragged.csv", "a,b\n1,2\n3\n", "ragged.csv: line 3 has 1 fields, the header has 2"),
    ("empty.csv", "", "empty.csv: empty: the first line must name the columns"),
    ("header.csv", "a,b\n", "header.csv: no data rows under the header"),
    ("twice.csv", "a,a\n1,2\n", "twice.csv: column 'a' appears twice in the header"),
    ("blank.csv", "a, \n1,2\n", "blank.csv: column 2 of the header has no name"),
    ("latin.csv", b"a,b\n\xe9t\xe9,2\n", "latin.csv: not UTF-8 text (byte 4)"),
    ("quotes.csv", 'a,b\n"1"x,2\n', "quotes.csv: not valid CSV at line 2"),
])
def test_a_malformed_data_file_is_one_clear_error(tmp_path, monkeypatch, name, content, reason):
    data = tmp_path / "data"
    _write_table(data, "good.csv", MOVIES_CSV)
    _write_table(data, name, content)
    monkeypatch.setenv("ADRS_DATA_DIR", str(data))
    result = ev.evaluate(BASELINE)
    assert result["combined_score"] == 0.0
    assert result["error"].startswith(f"llm_sql: data file {data}/")
    assert reason in result["error"] and "\n" not in result["error"]


def test_a_missing_or_empty_data_folder_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ADRS_DATA_DIR", str(tmp_path / "absent"))
    assert ev.evaluate(BASELINE)["error"] == \
        f"llm_sql: ADRS_DATA_DIR={tmp_path / 'absent'} is not a folder"
    monkeypatch.setenv("ADRS_DATA_DIR", str(tmp_path))
    assert ev.evaluate_heldout(BASELINE)["error"] == \
        f"llm_sql: data folder {tmp_path} holds no .csv file"
