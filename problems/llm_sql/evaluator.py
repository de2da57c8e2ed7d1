"""Trusted evaluator of the LLM-SQL problem: reorder a table's rows, and the fields inside each row,
so that the prompts an SQL query sends to an LLM hit a bounded prefix cache, fast.

The candidate runs in a persistent child process and returns, for every table, the rows in a new
order, each with its field order. This module checks that the answer is a permutation of the rows
and of each row's fields, serialises the rows itself and replays them through a prefix cache of
bounded capacity with LRU eviction. The wall time of each call is measured here, around the
request to the child, minus a calibrated round trip, and compared with a trusted copy of the
baseline served and timed the same way on the same table; the speed term moves in coarse steps,
so the score repeats between runs. Tables come from a seeded generator, or from the CSV files in
the folder $ADRS_DATA_DIR names.

    evaluate(program_path, workloads=None) -> dict   training workloads (or a named subset)
    evaluate_heldout(program_path) -> dict          held-out workloads
"""

from __future__ import annotations

import csv
import heapq
import importlib.util
import io
import itertools
import math
import os
import random
import sys
import time
import tomllib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

PROBLEM_DIR = Path(__file__).resolve().parent
ENTRY_POINT = "reorder_table"
HIT_WEIGHT = 0.95              # combined = 0.95 x hit rate + 0.05 x speed term (as the paper's)
BLOCK_CHARS = 16               # the cache's unit: 16 characters (about 4 tokens)
CACHE_FRACTION = 0.05          # the cache holds 5% of a table's characters...
CACHE_MIN_PROMPTS = 2          # ...and at least its two longest prompts
SPEED_STEP = 4.0               # the speed term moves in steps of 4x faster or slower...
SPEED_STEPS = 2                # ...two steps (16x faster) earn all of it, two slower none
MIN_CALL_SECONDS = 1e-3        # floor of both measured times: below it timing is noise
WARMUP_SEED = 12345
DATA_ENV = "ADRS_DATA_DIR"     # a folder of CSV tables to use instead of the generator


def _load_harness() -> ModuleType:
    """The sibling _harness.py, loaded by path: the folder works wherever it is copied, and
    problems loaded side by side in one process each keep their own copy."""
    name = f"{__name__}._harness"
    spec = importlib.util.spec_from_file_location(name, PROBLEM_DIR / "_harness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


harness = _load_harness()


def serialise(column: str, value: str) -> str:
    """One field of a prompt; a row's prompt is its fields joined in the chosen order."""
    return f"{column}: {value}\n"


# ---------------------------------------------------------------------------------------------
# Workloads: tables in the spirit of the paper's datasets, made of pseudo-words.
# ---------------------------------------------------------------------------------------------

SYLLABLES = ("ka", "lo", "mi", "ra", "ten", "vor", "sel", "un", "dra", "pe", "qui", "zo", "bel",
             "gar", "nis", "to", "ly", "mar", "den", "rik", "sa", "fo", "hul", "est", "ban", "cor")


class Words:
    """A seeded vocabulary with Zipf-like word frequencies, and text built from it."""

    def __init__(self, rng: random.Random, size: int = 1500) -> None:
        self.rng = rng
        seen: dict[str, None] = {}
        while len(seen) < size:
            seen["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3)))] = None
        self.vocabulary = list(seen)
        self.cumulative = zipf_cumulative(size, 1.0)

    def text(self, low: int, high: int) -> str:
        count = self.rng.randint(low, high)
        return " ".join(self.rng.choices(self.vocabulary, cum_weights=self.cumulative, k=count))

    def title(self, low: int, high: int) -> str:
        return " ".join(word.capitalize() for word in self.text(low, high).split())

    def names(self, count: int) -> list[str]:
        return [f"{self.title(1, 1)} {self.title(1, 1)}" for _ in range(count)]


def zipf_cumulative(size: int, exponent: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank + 1) ** exponent for rank in range(size)))


def zipf_pick(rng: random.Random, items: list, exponent: float = 1.0):
    """An item, the k-th with weight 1 / k ** exponent."""
    key = (len(items), exponent)
    if key not in _CUMULATIVE:
        _CUMULATIVE[key] = zipf_cumulative(*key)
    return rng.choices(items, cum_weights=_CUMULATIVE[key])[0]


_CUMULATIVE: dict[tuple[int, float], list[float]] = {}


Table = tuple[list[str], list[list[str]]]


def movies_table(rng: random.Random, n: int) -> Table:
    """Critic reviews of movies: the movie id fixes title, genres, year and director."""
    words = Words(rng)
    directors, critics = words.names(60), words.names(250)
    genres = [words.title(1, 1) for _ in range(15)]
    movies = [[f"tt{number:07d}", words.title(2, 5),
               "|".join(sorted(rng.sample(genres, rng.randint(1, 3)))),
               str(rng.randint(1950, 2023)), zipf_pick(rng, directors)]
              for number in rng.sample(range(10 ** 7), max(2, n // 12))]
    scores = ["1/5", "2/5", "3/5", "4/5", "5/5", "A", "A-", "B+", "B", "C", "2.5/4", "3.5/4"]
    columns = ["movie_id", "movie_title", "genres", "release_year", "director", "review_id",
               "critic_name", "top_critic", "review_score", "review_date", "review_text"]
    rows = []
    for k in range(n):
        movie = zipf_pick(rng, movies, 0.9)
        rows.append(movie + [f"r{k:06d}", zipf_pick(rng, critics),
                             rng.choice(["True", "False", "False", "False"]),
                             zipf_pick(rng, scores, 0.5),
                             f"20{rng.randint(10, 23)}-{rng.randint(1, 12):02d}-"
                             f"{rng.randint(1, 28):02d}",
                             words.text(15, 45)])
    return columns, rows


def beer_table(rng: random.Random, n: int) -> Table:
    """Beer reviews: the beer id fixes name, brewery, style and strength; five sub-scores."""
    words = Words(rng)
    breweries = [f"{words.title(1, 2)} Brewing" for _ in range(40)]
    styles = [words.title(1, 3) for _ in range(30)]
    reviewers = [words.title(1, 1).lower() + str(rng.randint(1, 99)) for _ in range(400)]
    beers = [[str(number), words.title(1, 4), zipf_pick(rng, breweries),
              zipf_pick(rng, styles), f"{rng.uniform(3.5, 11.0):.1f}"]
             for number in rng.sample(range(1000, 100000), max(2, n // 10))]
    columns = ["beer_id", "beer_name", "brewery", "style", "abv", "reviewer", "overall", "aroma",
               "appearance", "palate", "taste", "review_time", "review_text"]
    rows = []
    for _ in range(n):
        beer = zipf_pick(rng, beers, 0.8)
        quality = rng.uniform(2.0, 4.5)
        marks = [f"{min(5.0, max(1.0, round(2 * rng.gauss(quality, 0.5)) / 2)):.1f}"
                 for _ in range(5)]
        rows.append(beer + [zipf_pick(rng, reviewers)] + marks
                    + [str(1_300_000_000 + rng.randrange(10 ** 8)), words.text(20, 60)])
    return columns, rows


def products_table(rng: random.Random, n: int) -> Table:
    """Product reviews: the product id fixes a long title, a long description and a category."""
    words = Words(rng)
    categories = [words.title(1, 2) for _ in range(25)]
    brands = [words.title(1, 1) for _ in range(80)]
    products = [[f"B0{number:08X}", words.title(4, 10), words.text(30, 60),
                 zipf_pick(rng, categories), zipf_pick(rng, brands)]
                for number in rng.sample(range(16 ** 8), max(2, n // 8))]
    columns = ["product_id", "product_title", "description", "category", "brand", "user_id",
               "rating", "verified", "summary", "review_text"]
    rows = []
    for _ in range(n):
        product = zipf_pick(rng, products, 1.0)
        rows.append(product + [f"A{rng.randrange(10 ** 6):06d}",
                               zipf_pick(rng, ["5", "4", "3", "1", "2"], 1.0),
                               rng.choice(["Y", "Y", "N"]), words.title(2, 6), words.text(10, 40)])
    return columns, rows


def posts_table(rng: random.Random, n: int) -> Table:
    """Comments on Q&A posts (as in BIRD): the post id fixes title, body, tags and owner."""
    words = Words(rng)
    tags = [words.text(1, 1) for _ in range(60)]
    users = [str(rng.randint(1, 99999)) for _ in range(500)]
    posts = [[str(number), words.title(5, 12) + "?", words.text(40, 80),
              "".join(f"<{t}>" for t in sorted(rng.sample(tags, rng.randint(1, 4)))),
              zipf_pick(rng, users)] for number in rng.sample(range(1, 10 ** 6), max(2, n // 6))]
    columns = ["post_id", "post_title", "post_body", "tags", "owner_user_id", "comment_id",
               "comment_user_id", "comment_score", "comment_text"]
    rows = []
    for k in range(n):
        post = zipf_pick(rng, posts, 1.1)
        rows.append(post + [str(5_000_000 + k), zipf_pick(rng, users),
                            str(min(10, int(rng.expovariate(0.7)))), words.text(5, 30)])
    return columns, rows


def scores_table(rng: random.Random, n: int) -> Table:
    """Music-score metadata (as in PDMX): low-cardinality fields, no id fixing the others."""
    words = Words(rng)
    composers = words.names(250)
    genres = [words.title(1, 1) for _ in range(12)]
    keys = [f"{note}{mode}" for note in "CDEFGAB" for mode in (" major", " minor")]
    columns = ["composer", "title", "genre", "license", "n_tracks", "rating", "complexity",
               "key_signature", "time_signature", "has_lyrics"]
    rows = []
    for _ in range(n):
        rows.append([zipf_pick(rng, composers, 1.1), words.title(1, 6), zipf_pick(rng, genres),
                     zipf_pick(rng, ["CC0", "Public Domain", "CC-BY-4.0", "All rights reserved"]),
                     str(min(8, 1 + int(rng.expovariate(1.0)))),
                     "0.0" if rng.random() < 0.4 else f"{rng.uniform(3.0, 5.0):.1f}",
                     rng.choice(["low", "medium", "high"]), zipf_pick(rng, keys, 0.7),
                     zipf_pick(rng, ["4/4", "3/4", "6/8", "2/4", "2/2", "12/8"], 1.2),
                     rng.choice(["True", "False"])])
    return columns, rows


def unique_table(rng: random.Random, n: int) -> Table:
    """Edge case: every field unique per row except one two-valued flag."""
    words = Words(rng)
    columns = ["uuid", "name", "email", "flag", "address", "note"]
    rows = [[f"{rng.randrange(16 ** 12):012x}", f"{words.title(1, 1)} {k}",
             f"user{k}@{words.text(1, 1)}.example", rng.choice(["yes", "no"]),
             f"{rng.randint(1, 999)} {words.title(1, 2)} Street", words.text(3, 12)]
             for k in range(n)]
    return columns, rows


@dataclass(frozen=True)
class Family:
    build: Callable[[random.Random, int], Table]
    num_rows: int


FAMILIES: dict[str, Family] = {
    "movies": Family(movies_table, 1200),
    "beer": Family(beer_table, 1200),
    "products": Family(products_table, 1000),
    "posts": Family(posts_table, 1000),
    "scores": Family(scores_table, 1200),
    "unique": Family(unique_table, 600),
    "tiny": Family(movies_table, 5),
}


@dataclass(frozen=True)
class Workload:
    name: str
    columns: list[str]
    rows: list[list[str]]

    def task(self) -> list[Any]:
        """The positional arguments of reorder_table."""
        return [self.columns, self.rows]

    def prompt_lengths(self) -> list[int]:
        """Characters of each row's prompt (the same in any field order)."""
        return [sum(len(serialise(c, v)) for c, v in zip(self.columns, row)) for row in self.rows]

    def cache_blocks(self) -> int:
        """The prefix cache's capacity for this table, in blocks of BLOCK_CHARS: CACHE_FRACTION
        of the table's characters, and never less than its CACHE_MIN_PROMPTS longest prompts."""
        lengths = self.prompt_lengths()
        longest = sorted(lengths, reverse=True)[:CACHE_MIN_PROMPTS]
        return math.ceil(max(CACHE_FRACTION * sum(lengths), sum(longest)) / BLOCK_CHARS)


def make_workload(family_name: str, seed: int) -> Workload:
    family = FAMILIES[family_name]
    rng = random.Random(f"llm_sql:{family_name}:{seed}")
    columns, rows = family.build(rng, family.num_rows)
    # No help from the generation order: rows and columns come shuffled.
    rng.shuffle(rows)
    order = list(range(len(columns)))
    rng.shuffle(order)
    return Workload(f"{family_name}-s{seed}", [columns[f] for f in order],
                    [[row[f] for f in order] for row in rows])


def make_workloads(seeds: list[int]) -> list[Workload]:
    return [make_workload(family, seed) for seed in seeds for family in FAMILIES]


# ---------------------------------------------------------------------------------------------
# Bring your own data: CSV tables from the folder $ADRS_DATA_DIR names.
# ---------------------------------------------------------------------------------------------

class DataError(ValueError):
    """A data folder or file that cannot be used; the message names it and the reason."""


@dataclass(frozen=True)
class Tables:
    """The tables of one split, and where they come from (reports name it)."""

    workloads: list[Workload]
    source: str


def csv_tables(folder: Path) -> list[Workload]:
    """One table per *.csv file directly in `folder` (sorted by name), named by the file's stem:
    the header row gives the columns, every other row one row of strings."""
    files = sorted(path for path in folder.glob("*.csv") if path.is_file())
    if not files:
        raise DataError(f"llm_sql: data folder {folder} holds no .csv file")
    return [read_table(path) for path in files]


def read_table(path: Path) -> Workload:
    def bad(reason: str) -> DataError:
        return DataError(f"llm_sql: data file {path}: {reason}")

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise bad(f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise bad(f"cannot be read ({exc.strerror})") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header:
            raise bad("empty: the first line must name the columns")
        rows = []
        for row in reader:
            if len(row) != len(header):
                raise bad(f"line {reader.line_num} has {len(row)} fields, the header has "
                          f"{len(header)}")
            rows.append(row)
    except csv.Error as exc:
        raise bad(f"not valid CSV at line {reader.line_num}: {exc}") from None
    for index, name in enumerate(header):
        if not name.strip():
            raise bad(f"column {index + 1} of the header has no name")
        if header.index(name) != index:
            raise bad(f"column {name!r} appears twice in the header")
    if not rows:
        raise bad("no data rows under the header")
    return Workload(path.stem, header, rows)


def load_tables(config: dict[str, Any], split: str) -> Tables:
    """The training or held-out tables: from $ADRS_DATA_DIR when it is set (its *.csv files are
    the training tables, those of its heldout/ folder the held-out ones, the training tables
    again without one), else from the generator with the split's seeds."""
    folder = os.environ.get(DATA_ENV)
    if not folder:
        seeds = list(config["workloads"][f"{split}_seeds"])
        return Tables(make_workloads(seeds), f"synthetic: seeded generator, families "
                      f"{', '.join(FAMILIES)}, seeds {seeds}")
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"llm_sql: {DATA_ENV}={folder} is not a folder")
    where = root / "heldout" if split == "heldout" and (root / "heldout").is_dir() else root
    tables = csv_tables(where)
    note = " (no heldout/ folder: the training tables)" if split == "heldout" and where == root \
        else ""
    listing = ", ".join(f"{w.name} ({len(w.rows)} rows)" for w in tables)
    return Tables(tables, f"csv: {where}{note}: {listing}")


# ---------------------------------------------------------------------------------------------
# Validation and the hit rate (trusted).
# ---------------------------------------------------------------------------------------------

class InvalidAnswer(ValueError):
    """A reordering that breaks the interface; the message names the reason in one line."""


def validate_order(workload: Workload, answer: Any) -> list[tuple[int, list[int]]]:
    """The answer as (row, field order) pairs, or InvalidAnswer naming what is wrong."""
    n, m = len(workload.rows), len(workload.columns)
    if not isinstance(answer, list):
        raise InvalidAnswer(f"expected a list of {n} (row, field order) pairs, "
                            f"got {type(answer).__name__}")
    if len(answer) != n:
        raise InvalidAnswer(f"expected {n} rows, got {len(answer)}")
    seen = [False] * n
    fields = set(range(m))
    out = []
    for position, item in enumerate(answer):
        if not isinstance(item, list) or len(item) != 2:
            raise InvalidAnswer(f"position {position}: expected a (row, field order) pair, "
                                f"got {harness.short(item)}")
        row, order = item
        if type(row) is not int or not 0 <= row < n:
            raise InvalidAnswer(f"position {position}: row {harness.short(row)} is not an int "
                                f"in 0..{n - 1}")
        if seen[row]:
            raise InvalidAnswer(f"position {position}: row {row} appears twice")
        seen[row] = True
        if (not isinstance(order, list) or len(order) != m
                or not all(type(f) is int for f in order) or set(order) != fields):
            raise InvalidAnswer(f"position {position}: the field order of row {row} must be a "
                                f"permutation of 0..{m - 1}, got {harness.short(order)}")
        out.append((row, order))
    return out


def prompts(workload: Workload, order: list[tuple[int, list[int]]]) -> list[str]:
    cols, rows = workload.columns, workload.rows
    return ["".join(serialise(cols[f], rows[r][f]) for f in fields) for r, fields in order]


def prefix_hits(texts: list[str], capacity_blocks: int, block: int = BLOCK_CHARS) -> list[int]:
    """Characters of each prompt served from a prefix cache of `capacity_blocks` blocks with LRU
    eviction, sent in this order (as a serving engine's automatic prefix caching pages it):

    - a prompt is cut into blocks of `block` characters; a partial last block is never cached;
    - its hit is its run of leading blocks whose whole prefix is in the cache;
    - then its blocks are all in the cache, as the most recently used, and the least recently
      used blocks are evicted until the cache fits. Within one prompt the tail counts as used
      before the head, so a block always leaves before its prefix: the cache holds whole prefixes.
    """
    child: dict[tuple[int, str], int] = {}   # (prefix block id, text) -> block id, ids from 1
    cached: OrderedDict[int, None] = OrderedDict()  # least recently used first
    intern, use, evict = child.setdefault, cached.move_to_end, cached.popitem  # hot loop
    hits = []
    for text in texts:
        node, path, hit = 0, [], 0
        for at in range(0, len(text) - len(text) % block, block):
            node = intern((node, text[at:at + block]), len(child) + 1)
            if hit == at and node in cached:
                hit += block
            path.append(node)
        hits.append(hit)
        for node in reversed(path):
            cached[node] = None
            use(node)
        while len(cached) > capacity_blocks:
            evict(last=False)
    return hits


def hit_rate(workload: Workload, order: list[tuple[int, list[int]]]) -> float:
    """The share of all prompt characters served from the table's bounded prefix cache."""
    texts = prompts(workload, order)
    total = sum(len(t) for t in texts)
    return sum(prefix_hits(texts, workload.cache_blocks())) / total if total else 0.0


def unbounded_hit_rate(workload: Workload, order: list[tuple[int, list[int]]]) -> float:
    """The public evaluator's figure, reported for comparison only: every prompt's longest common
    prefix with any earlier one (an unbounded character trie). Its total is the same for every
    row order: the sum of common prefixes of neighbours in sorted order."""
    texts = prompts(workload, order)
    total = sum(len(t) for t in texts)
    ranked = sorted(texts)
    shared = sum(common_prefix(a, b) for a, b in zip(ranked, ranked[1:]))
    return shared / total if total else 0.0


def common_prefix(a: str, b: str) -> int:
    """Length of the longest common prefix, by binary search over slice comparisons."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def speed_term(speedup: float) -> float:
    """0.5 at the baseline's speed, 0.25 more per SPEED_STEP times faster (less per times
    slower), clipped to [0, 1]. The steps switch at 2x, 8x faster or slower, far from the 10-20%
    timing noise: a program's score repeats unless its speed sits near a switch."""
    steps = round(math.log(speedup) / math.log(SPEED_STEP))
    return min(1.0, max(0.0, 0.5 + 0.5 * steps / SPEED_STEPS))


def speedup(pairs: list[tuple[float, float]]) -> float:
    """Geometric mean of baseline time / candidate time over (candidate, baseline) pairs, both
    floored at MIN_CALL_SECONDS (smaller tables are pure noise)."""
    logs = [math.log(max(base, MIN_CALL_SECONDS) / max(mine, MIN_CALL_SECONDS))
            for mine, base in pairs]
    return math.exp(sum(logs) / len(logs))


# ---------------------------------------------------------------------------------------------
# The trusted reference: a copy of the GGR baseline, for time and hit-rate comparisons.
# ---------------------------------------------------------------------------------------------

REFERENCE_LENGTH_POWER = 1.0
REFERENCE_MIN_GROUP_ROWS = 3
REFERENCE_MAX_DEPTH = 4


def reference_reorder(columns: list[str], rows: list[list[str]]) -> list[tuple[int, list[int]]]:
    """The baseline's greedy group recursion, step for step."""
    return _ggr(columns, rows, list(range(len(rows))), list(range(len(columns))), [])


def _ggr(columns: list[str], rows: list[list[str]], ids: list[int], fields: list[int],
         prefix: list[int]) -> list[tuple[int, list[int]]]:
    if len(ids) < REFERENCE_MIN_GROUP_ROWS or not fields or len(prefix) >= REFERENCE_MAX_DEPTH:
        return _sorted_rows(rows, ids, fields, prefix)
    members: dict[tuple[int, str], list[int]] = {}
    for i in ids:
        for f in fields:
            members.setdefault((f, rows[i][f]), []).append(i)
    size = {key: len(group) for key, group in members.items()}
    heap = [(-_score(columns, key, size[key]), key)
            for key in members if size[key] >= REFERENCE_MIN_GROUP_ROWS]
    heapq.heapify(heap)
    placed: set[int] = set()
    out: list[tuple[int, list[int]]] = []
    while heap:
        negative, key = heapq.heappop(heap)
        score = _score(columns, key, size[key])
        if -negative != score:
            if size[key] >= REFERENCE_MIN_GROUP_ROWS:
                heapq.heappush(heap, (-score, key))
            continue
        group = [i for i in members[key] if i not in placed]
        out += _ggr(columns, rows, group, [f for f in fields if f != key[0]], prefix + [key[0]])
        for i in group:
            placed.add(i)
            for f in fields:
                size[(f, rows[i][f])] -= 1
    return out + _sorted_rows(rows, [i for i in ids if i not in placed], fields, prefix)


def _score(columns: list[str], key: tuple[int, str], count: int) -> float:
    return (count - 1) * len(serialise(columns[key[0]], key[1])) ** REFERENCE_LENGTH_POWER


def _sorted_rows(rows: list[list[str]], ids: list[int], fields: list[int],
                 prefix: list[int]) -> list[tuple[int, list[int]]]:
    distinct = {f: len({rows[i][f] for i in ids}) for f in fields}
    order = prefix + sorted(fields, key=lambda f: (distinct[f], f))
    return [(i, order) for i in sorted(ids, key=lambda i: [rows[i][f] for f in order])]


# ---------------------------------------------------------------------------------------------
# The candidate's child process: the shared harness (_harness.py) serves and times it.
# ---------------------------------------------------------------------------------------------

def warmup_task() -> list[Any]:
    """An unscored table solved first, so imports and caches warm up outside the timed calls."""
    columns, rows = movies_table(random.Random(WARMUP_SEED), 200)
    return [columns, rows]


def run_tables(program_path: str, workloads: list[Workload],
               timeout_seconds: float) -> dict[str, Any]:
    """Every table's answer and times (harness.Measured by name); the trusted reference runs in a
    child of its own and is timed right before or after the candidate on the same table. Each
    table is solved once: the first sight of an input cannot profit from a cache of answers."""
    return harness.solve(program_path, ENTRY_POINT, {w.name: w.task() for w in workloads},
                         timeout_seconds,
                         reference=(str(PROBLEM_DIR / "evaluator.py"), "reference_reorder"),
                         warmup=warmup_task())


# ---------------------------------------------------------------------------------------------
# Scoring and the contract's entry points.
# ---------------------------------------------------------------------------------------------

def load_config() -> dict[str, Any]:
    with open(PROBLEM_DIR / "problem.toml", "rb") as handle:
        return tomllib.load(handle)


def evaluate(program_path: str, workloads: list[str] | None = None) -> dict[str, Any]:
    config = load_config()
    try:
        tables = load_tables(config, "train")
    except DataError as exc:
        return harness.failure(str(exc))
    pool = {w.name: w for w in tables.workloads}
    try:
        names = harness.select_workloads(workloads, list(pool))
    except ValueError as exc:
        return harness.failure(str(exc))
    return score_program(program_path, [pool[name] for name in names],
                         float(config["candidate"]["timeout_seconds"]), tables.source)


def evaluate_heldout(program_path: str) -> dict[str, Any]:
    config = load_config()
    try:
        tables = load_tables(config, "heldout")
    except DataError as exc:
        return harness.failure(str(exc))
    return score_program(program_path, tables.workloads,
                         float(config["candidate"]["timeout_seconds"]), tables.source)


@dataclass(frozen=True)
class WorkloadResult:
    hit_rate: float
    reference_hit_rate: float
    unbounded_hit_rate: float
    candidate_seconds: float
    reference_seconds: float


def score_program(program_path: str, workloads: list[Workload], timeout_seconds: float,
                  data_source: str = "") -> dict[str, Any]:
    """Per workload: 0.95 x hit rate + 0.05 x the speed term of the whole evaluation;
    combined_score is the mean over workloads."""
    started = time.perf_counter()
    try:
        measured = run_tables(program_path, workloads, timeout_seconds)
    except harness.CandidateFailure as exc:
        return harness.failure(str(exc), stderr_tail=exc.stderr_tail,
                               timings={"evaluation_seconds": time.perf_counter() - started})
    results: dict[str, WorkloadResult] = {}
    for w in workloads:
        m = measured[w.name]
        try:
            order = validate_order(w, m.answer)
        except InvalidAnswer as exc:
            return harness.failure(f"workload {w.name}: invalid answer: {exc}")
        reference = validate_order(w, m.reference_answer)
        results[w.name] = WorkloadResult(hit_rate(w, order), hit_rate(w, reference),
                                         unbounded_hit_rate(w, order), m.seconds,
                                         m.reference_seconds)
    faster = speedup([(r.candidate_seconds, r.reference_seconds) for r in results.values()])
    speed = speed_term(faster)
    per_workload = {name: HIT_WEIGHT * r.hit_rate + (1.0 - HIT_WEIGHT) * speed
                    for name, r in results.items()}
    n = len(results)
    artifacts = {"worst_workloads": _worst_text(results, per_workload)}
    if data_source:
        artifacts["data_source"] = data_source
    return {
        "combined_score": sum(per_workload.values()) / n,
        "hit_rate": sum(r.hit_rate for r in results.values()) / n,
        "baseline_hit_rate": sum(r.reference_hit_rate for r in results.values()) / n,
        "unbounded_hit_rate": sum(r.unbounded_hit_rate for r in results.values()) / n,
        "speed_term": speed,
        "speedup_vs_baseline": faster,
        "runtime_ms": 1000 * sum(r.candidate_seconds for r in results.values()) / n,
        "per_workload": per_workload,
        "artifacts": artifacts,
        "timings": {"candidate_call_ms": 1000 * sum(r.candidate_seconds for r in results.values()),
                    "baseline_call_ms": 1000 * sum(r.reference_seconds for r in results.values()),
                    "evaluation_seconds": time.perf_counter() - started},
    }


def _worst_text(results: dict[str, WorkloadResult], scores: dict[str, float],
                count: int = 3) -> str:
    worst = sorted(results, key=lambda name: (scores[name], name))[:count]
    return "\n".join(
        f"{name}: score {scores[name]:.4f}, hit rate {results[name].hit_rate:.4f} vs baseline "
        f"{results[name].reference_hit_rate:.4f} (unbounded cache: "
        f"{results[name].unbounded_hit_rate:.4f})" for name in worst)
