"""RunRepository on real git repositories in tmp_path."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from adrs.workspace.messages import CandidateMessage
from adrs.workspace.repository import ProgramRecord, RunRepository, WorkspaceError

INITIAL = "def f():\n    # EVOLVE-BLOCK-START\n    return 1\n    # EVOLVE-BLOCK-END\n"
PROBLEM_FILES = ["README.md", "data/w1.txt", "evaluator.py", "initial.py", "problem.toml"]


def make_problem(folder: Path) -> Path:
    (folder / "data").mkdir(parents=True)
    (folder / "__pycache__").mkdir()
    (folder / "README.md").write_text("# Demo\nMake f return more.\n")
    (folder / "initial.py").write_text(INITIAL)
    (folder / "evaluator.py").write_text("def evaluate(program_path):\n    return {}\n")
    (folder / "problem.toml").write_text('name = "demo"\n')
    (folder / "data" / "w1.txt").write_text("1 2 3\n")
    (folder / "__pycache__" / "evaluator.cpython-311.pyc").write_bytes(b"\0junk")
    (folder / "stale.pyc").write_bytes(b"\0junk")
    return folder


def git(run: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(run), *args], capture_output=True, text=True,
                          check=True).stdout


def msg(summary: str, status: str, iteration: int, slot: int = 0, score: float | None = None,
        **extra: object) -> CandidateMessage:
    return CandidateMessage(summary=summary, status=status, iteration=iteration, slot=slot,
                            score=score, **extra)


def source(value: int) -> str:
    return INITIAL.replace("return 1", f"return {value}")


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs" / "r1"


@pytest.fixture
def run(tmp_path: Path, run_dir: Path) -> Iterator[RunRepository]:
    repo = RunRepository.create(run_dir, make_problem(tmp_path / "problem"), "demo")
    yield repo
    repo.close()


@pytest.fixture
def lineage(run: RunRepository) -> dict[str, str]:
    """baseline -> i1s0 (evaluated) -> i2s0 (evaluated); baseline -> i1s1 (rejected);
    i1s0 -> i2s1 (failed)."""
    shas = {"base": run.commit_baseline(INITIAL, msg("Baseline", "baseline", 0, score=1.0,
                                                      operator="baseline"))}
    shas["i1s0"] = run.commit_candidate(key="i0001-s0", parent="baseline", source=source(2),
                                        message=msg("Return 2", "evaluated", 1, score=2.0))
    shas["i1s1"] = run.commit_candidate(key="i0001-s1", parent=shas["base"], source=source(-1),
                                        message=msg("Return -1", "rejected", 1, 1,
                                                    verdict="reject: worse by design",
                                                    fingerprint="fp-neg"))
    shas["i2s0"] = run.commit_candidate(key="i0002-s0", parent=shas["i1s0"], source=source(3),
                                        message=msg("Return 3", "evaluated", 2, score=3.0))
    shas["i2s1"] = run.commit_candidate(key="i0002-s1", parent=shas["i1s0"], source="oops(",
                                        message=msg("Broken", "failed", 2, 1))
    return shas


def test_root_commit_is_the_problem_as_given(run: RunRepository, run_dir: Path) -> None:
    assert git(run_dir, "ls-tree", "-r", "--name-only", run.root_sha).split() == PROBLEM_FILES
    assert git(run_dir, "log", "-1", "--format=%B", run.root_sha) == "Problem demo as given\n\n"
    assert git(run_dir, "log", "-1", "--format=%an <%ae>|%cn <%ce>", run.root_sha).strip() == (
        "adrs <adrs@localhost>|adrs <adrs@localhost>")
    assert git(run_dir, "symbolic-ref", "HEAD").strip() == "refs/heads/best"
    assert run.best_sha == run.root_sha
    assert (run_dir / "initial.py").read_text() == INITIAL
    assert run.problem_name == "demo"


def test_create_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    problem = make_problem(tmp_path / "problem")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    with pytest.raises(WorkspaceError, match="exists and is not empty"):
        RunRepository.create(busy, problem, "demo")
    empty = tmp_path / "empty"
    empty.mkdir()
    RunRepository.create(empty, problem, "demo").close()
    with pytest.raises(WorkspaceError, match="problem folder not found"):
        RunRepository.create(tmp_path / "other", tmp_path / "nowhere", "demo")


def test_baseline_and_candidates_have_the_right_parents_and_trees(
        run: RunRepository, run_dir: Path, lineage: dict[str, str]) -> None:
    parents = {name: git(run_dir, "rev-parse", f"{sha}^").strip() for name, sha in lineage.items()}
    assert parents == {"base": run.root_sha, "i1s0": lineage["base"], "i1s1": lineage["base"],
                       "i2s0": lineage["i1s0"], "i2s1": lineage["i1s0"]}
    assert git(run_dir, "show", f"{lineage['i2s0']}^:program.py") == source(2)
    assert git(run_dir, "show", f"{lineage['i2s0']}:program.py") == source(3)
    assert git(run_dir, "show", f"{lineage['base']}:program.py") == INITIAL
    # Everything but program.py is the problem as given, byte for byte.
    root_tree = git(run_dir, "ls-tree", "-r", run.root_sha)
    for sha in lineage.values():
        tree = git(run_dir, "ls-tree", "-r", sha).splitlines()
        assert "\n".join(line for line in tree if not line.endswith("\tprogram.py")) + "\n" == root_tree
    assert git(run_dir, "log", "-1", "--format=%s", lineage["i1s1"]).strip() == "Return -1"


def test_refs_live_in_three_namespaces(run: RunRepository, run_dir: Path,
                                       lineage: dict[str, str]) -> None:
    refs = git(run_dir, "for-each-ref", "--format=%(refname) %(objectname)", "refs/adrs")
    assert refs.splitlines() == [
        f"refs/adrs/evaluated/i0000-s0 {lineage['base']}",
        f"refs/adrs/evaluated/i0001-s0 {lineage['i1s0']}",
        f"refs/adrs/evaluated/i0002-s0 {lineage['i2s0']}",
        f"refs/adrs/failed/i0002-s1 {lineage['i2s1']}",
        f"refs/adrs/rejected/i0001-s1 {lineage['i1s1']}",
        f"refs/adrs/root {run.root_sha}",
    ]


def test_commits_leave_the_working_tree_alone(run: RunRepository, run_dir: Path,
                                              lineage: dict[str, str]) -> None:
    # commit_baseline moved best to the baseline; later candidates did not touch anything.
    assert run.best_sha == lineage["base"]
    assert (run_dir / "program.py").read_text() == INITIAL
    assert git(run_dir, "status", "--porcelain") == ""


def test_recommitting_a_key_is_idempotent(run: RunRepository, run_dir: Path,
                                          lineage: dict[str, str]) -> None:
    count = git(run_dir, "rev-list", "--all", "--count")
    again = run.commit_candidate(key="i0001-s0", parent=lineage["base"], source=source(2),
                                 message=msg("Return 2 (resumed)", "evaluated", 1, score=2.0))
    assert again == lineage["i1s0"]
    assert run.commit_baseline(INITIAL, msg("Baseline", "baseline", 0, score=1.0)) == lineage["base"]
    # Same key under another namespace with the same program also returns the existing commit.
    assert run.commit_candidate(key="i0002-s1", parent=lineage["i1s0"], source="oops(",
                                message=msg("Broken", "rejected", 2, 1)) == lineage["i2s1"]
    assert git(run_dir, "rev-list", "--all", "--count") == count
    with pytest.raises(WorkspaceError, match="already committed .* different program"):
        run.commit_candidate(key="i0001-s0", parent=lineage["base"], source=source(9),
                             message=msg("Return 9", "evaluated", 1, score=9.0))
    with pytest.raises(WorkspaceError, match="already committed .* different parent"):
        run.commit_candidate(key="i0001-s0", parent=lineage["i2s0"], source=source(2),
                             message=msg("Return 2", "evaluated", 1, score=2.0))


def test_bad_candidate_arguments_are_refused(run: RunRepository, lineage: dict[str, str]) -> None:
    with pytest.raises(WorkspaceError, match="does not match"):
        run.commit_candidate(key="i0005-s0", parent="baseline", source=source(5),
                             message=msg("x", "evaluated", 4, score=1.0))
    with pytest.raises(WorkspaceError, match="commit_baseline"):
        run.commit_candidate(key="i0000-s0", parent="baseline", source=source(5),
                             message=msg("x", "baseline", 0, score=1.0))
    with pytest.raises(WorkspaceError, match="not a program commit"):
        run.commit_candidate(key="i0005-s0", parent=run.root_sha, source=source(5),
                             message=msg("x", "evaluated", 5, score=1.0))


def test_records_rebuild_everything(run: RunRepository, run_dir: Path,
                                    lineage: dict[str, str]) -> None:
    records = run.records()
    assert [(r.key, r.status, r.score, r.parent_id) for r in records] == [
        ("i0000-s0", "baseline", 1.0, None),
        ("i0001-s0", "evaluated", 2.0, lineage["base"]),
        ("i0001-s1", "rejected", None, lineage["base"]),
        ("i0002-s0", "evaluated", 3.0, lineage["i1s0"]),
        ("i0002-s1", "failed", None, lineage["i1s0"]),
    ]
    assert [r.id for r in records] == [lineage[k] for k in ("base", "i1s0", "i1s1", "i2s0", "i2s1")]
    rejected = records[2]
    assert rejected.message.verdict == "reject: worse by design"
    assert rejected.message.fingerprint == "fp-neg"
    assert rejected.program_blob == git(run_dir, "rev-parse", f"{rejected.id}:program.py").strip()
    assert rejected.summary == "Return -1" and rejected.iteration == 1
    with RunRepository.open(run_dir) as reopened:
        assert reopened.records() == records
        assert reopened.root_sha == run.root_sha
    assert run.record("i0001-s1") == rejected
    assert isinstance(hash(rejected), int) and isinstance(rejected, ProgramRecord)


def test_resolve_accepts_every_form(run: RunRepository, lineage: dict[str, str]) -> None:
    assert run.resolve("baseline") == lineage["base"]
    assert run.resolve("best") == lineage["base"]
    assert run.resolve("root") == run.root_sha
    assert run.resolve("i0002-s1") == lineage["i2s1"]
    assert run.resolve("2") == lineage["i2s0"]
    assert run.resolve(lineage["i1s1"]) == lineage["i1s1"]
    assert run.resolve(lineage["i1s1"][:10]) == lineage["i1s1"]
    assert run.resolve("refs/adrs/evaluated/i0002-s0~1") == lineage["i1s0"]
    assert run.resolve("best^") == run.root_sha
    for unknown in ("i0009-s0", "9", "no-such-rev", "--all", ""):
        with pytest.raises(WorkspaceError):
            run.resolve(unknown)


def test_program_source_and_diff_to_parent(run: RunRepository, run_dir: Path,
                                           lineage: dict[str, str]) -> None:
    assert run.program_source("i0002-s0") == source(3)
    assert run.program_source("i0002-s1") == "oops("
    assert run.diff_to_parent("baseline") == ""
    assert run.diff_to_parent("i0002-s0") == (
        "--- a/program.py\n+++ b/program.py\n@@ -1,4 +1,4 @@\n"
        " def f():\n     # EVOLVE-BLOCK-START\n-    return 2\n+    return 3\n"
        "     # EVOLVE-BLOCK-END\n")
    assert run.diff_to_parent("i0002-s1").endswith("+oops(\n\\ No newline at end of file\n")
    with pytest.raises(WorkspaceError, match="not a program commit"):
        run.diff_to_parent("root")
    with pytest.raises(WorkspaceError, match="not a program commit"):
        run.program_source("root")


def test_baseline_diff_is_against_the_evolve_file(tmp_path: Path) -> None:
    problem = make_problem(tmp_path / "problem")
    with RunRepository.create(tmp_path / "run", problem, "demo") as run:
        run.commit_baseline(source(0), msg("Edited baseline", "baseline", 0, score=0.0))
        assert run.diff_to_parent("baseline") == (
            "--- a/initial.py\n+++ b/program.py\n@@ -1,4 +1,4 @@\n"
            " def f():\n     # EVOLVE-BLOCK-START\n-    return 1\n+    return 0\n"
            "     # EVOLVE-BLOCK-END\n")


def test_set_best_moves_head_and_the_working_tree(run: RunRepository, run_dir: Path,
                                                  lineage: dict[str, str]) -> None:
    run.set_best(lineage["i2s0"][:8])
    assert git(run_dir, "symbolic-ref", "HEAD").strip() == "refs/heads/best"
    assert git(run_dir, "rev-parse", "HEAD").strip() == lineage["i2s0"]
    assert (run_dir / "program.py").read_text() == source(3)
    assert git(run_dir, "status", "--porcelain") == ""
    assert git(run_dir, "log", "--graph", "--format=%s", "HEAD").splitlines() == [
        "* Return 3", "* Return 2", "* Baseline", "* Problem demo as given"]
    graph_all = git(run_dir, "log", "--graph", "--all", "--format=%s")
    for summary in ("Return -1", "Broken", "Return 3"):
        assert summary in graph_all
    for not_scored in (run.root_sha, lineage["i1s1"], "i0002-s1"):
        with pytest.raises(WorkspaceError, match="is not an evaluated program"):
            run.set_best(not_scored)
    assert run.best_sha == lineage["i2s0"]


def test_git_log_shows_the_trailers(run: RunRepository, run_dir: Path,
                                    lineage: dict[str, str]) -> None:
    shown = git(run_dir, "log", "-1", "--format=%(trailers:key=Score,valueonly)", lineage["i2s0"])
    assert shown.strip() == "3.0"


def test_git_fsck_is_clean(run: RunRepository, lineage: dict[str, str]) -> None:
    run.set_best(lineage["i2s0"])
    report = run.fsck()
    for word in ("error", "missing", "broken", "dangling"):
        assert word not in report


def test_open_refuses_what_is_not_a_run(tmp_path: Path, run: RunRepository, run_dir: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(WorkspaceError, match=f"^not an adrs run: {plain}$"):
        RunRepository.open(plain)
    other = tmp_path / "other-repo"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    with pytest.raises(WorkspaceError, match="not an adrs run"):
        RunRepository.open(other)
    with pytest.raises(WorkspaceError, match="not an adrs run"):
        RunRepository.open(run_dir / "data")
    with pytest.raises(WorkspaceError, match="not an adrs run"):
        RunRepository.open(tmp_path / "missing")


def test_a_foreign_commit_under_adrs_refs_is_reported(run: RunRepository, run_dir: Path,
                                                      lineage: dict[str, str]) -> None:
    tree = git(run_dir, "rev-parse", f"{lineage['i1s0']}^{{tree}}").strip()
    foreign = subprocess.run(
        ["git", "-C", str(run_dir), "-c", "user.name=x", "-c", "user.email=x@y",
         "commit-tree", tree, "-p", lineage["base"], "-m", "hand-made"],
        capture_output=True, text=True, check=True).stdout.strip()
    git(run_dir, "update-ref", "refs/adrs/evaluated/i0003-s0", foreign)
    with pytest.raises(WorkspaceError, match=r"i0003-s0\) has an unreadable message: "
                                             r"commit message has no trailer paragraph$"):
        run.records()


def test_notes_are_readable_by_git_and_survive_reopening(run: RunRepository, run_dir: Path,
                                                         lineage: dict[str, str]) -> None:
    run.add_note("i0001-s0", "first")
    run.add_note(lineage["i2s0"], "second\r\n")
    assert git(run_dir, "notes", "--ref", "adrs", "show", lineage["i2s0"]) == "second\n"
    with RunRepository.open(run_dir) as again:
        assert again.notes() == {lineage["i1s0"]: "first\n", lineage["i2s0"]: "second\n"}
        again.add_note("i0001-s0", "replaced")
        assert git(run_dir, "notes", "--ref", "adrs", "show", lineage["i1s0"]) == "replaced\n"
    assert "error" not in run.fsck().lower()


def test_a_commit_writes_no_index_and_starts_no_git_per_object(run: RunRepository, run_dir: Path,
                                                               lineage: dict[str, str]) -> None:
    """Objects go straight into .git/objects; the index and working tree stay as they were."""
    before = (run_dir / ".git" / "index").stat().st_mtime_ns
    sha = run.commit_candidate(key="i0003-s0", parent="i0002-s0", source=source(4),
                               message=msg("Return 4", "evaluated", 3, score=4.0))
    assert (run_dir / ".git" / "objects" / sha[:2] / sha[2:]).is_file()
    assert git(run_dir, "cat-file", "-t", sha).strip() == "commit"
    assert (run_dir / ".git" / "index").stat().st_mtime_ns == before
    assert run.program_source(sha) == source(4) and run.record(sha).score == 4.0
