"""problems/*/_harness.py: one child-process harness, copied byte for byte into every problem."""

from __future__ import annotations

import hashlib
import os
import shutil
import textwrap
import time
from pathlib import Path

import pytest

from tests.problems.helpers import (
    PROBLEMS,
    load_evaluator,
    load_module,
    problem_folder,
    spot_policy,
    write_candidate,
)

FOLDERS = sorted(path.parent for path in PROBLEMS.glob("*/evaluator.py"))


@pytest.fixture(scope="module")
def harness():
    return load_module(problem_folder("txn_scheduling") / "_harness.py", "harness_under_test")


def test_every_problem_holds_the_same_harness():
    assert len(FOLDERS) == 6
    digests = {folder.name: hashlib.sha256((folder / "_harness.py").read_bytes()).hexdigest()
               for folder in FOLDERS}
    assert len(set(digests.values())) == 1, f"the _harness.py copies differ: {digests}"


@pytest.mark.parametrize("folder", FOLDERS, ids=[folder.name for folder in FOLDERS])
def test_each_evaluator_uses_its_own_copy(folder):
    ev = load_evaluator(folder.name)
    assert Path(ev.harness.__file__) == folder / "_harness.py"
    assert "import subprocess" not in (folder / "evaluator.py").read_text(encoding="utf-8")


def test_a_copied_folder_evaluates_on_its_own(tmp_path):
    copy = tmp_path / "elsewhere" / "txn"
    shutil.copytree(problem_folder("txn_scheduling"), copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    ev = load_module(copy / "evaluator.py", "txn_copy_evaluator")
    assert Path(ev.harness.__file__) == copy / "_harness.py"
    result = ev.evaluate(str(copy / "initial.py"), workloads=["edge-s1"])
    assert "error" not in result and result["combined_score"] > 0


# --------------------------------------------------------------------------- no stale bytecode

def _same_size_rewrite(path: Path, old: str, new: str) -> None:
    """Rewrite `path` with `old` replaced by `new` (same length), keeping its mtime, as an edit
    within the same second would."""
    assert len(old) == len(new)
    stamp = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert path.stat().st_size == stamp.st_size


def test_a_same_size_rewrite_is_evaluated_afresh_txn(tmp_path):
    ev = load_evaluator("txn_scheduling")
    program = Path(write_candidate(tmp_path, "def schedule(transactions, model):\n"
                                             "    return list(range(len(transactions)))[::+1]\n"))
    forward = ev.evaluate(str(program), workloads=["zipf-s1"])
    _same_size_rewrite(program, "[::+1]", "[::-1]")
    backward = ev.evaluate(str(program), workloads=["zipf-s1"])
    batch = ev.build_workloads((1,))["zipf-s1"]
    assert forward["total_makespan"] == ev.makespan(batch, list(range(100)))
    assert backward["total_makespan"] == ev.makespan(batch, list(range(100))[::-1])
    assert forward["total_makespan"] != backward["total_makespan"]
    assert not (tmp_path / "__pycache__").exists()


def test_a_same_size_rewrite_is_evaluated_afresh_spot(tmp_path):
    ev = load_evaluator("spot_scheduling")
    program = Path(write_candidate(tmp_path, spot_policy("return ON_DEMAND")))
    on_demand = ev.evaluate(str(program), workloads=ev.workload_names()[:1])
    _same_size_rewrite(program, "return ON_DEMAND", "return SPOT     ")
    spot = ev.evaluate(str(program), workloads=ev.workload_names()[:1])
    assert on_demand["mean_spot_hours"] == 0 and spot["mean_spot_hours"] > 0
    assert not (tmp_path / "__pycache__").exists()


# --------------------------------------------------------------------------- the child and session

def _program(tmp_path: Path, source: str, name: str = "program.py") -> str:
    return write_candidate(tmp_path, textwrap.dedent(source), name)


def test_exact_answers_name_what_json_cannot_carry(harness, tmp_path):
    program = _program(tmp_path, """
        def answer(kind):
            import numpy
            return {"tuple": (1, 2), "numpy": [numpy.int64(3)], "nested": [[1, "a", None]],
                    "set": {1}}[kind]
    """)
    tasks = {kind: [kind] for kind in ("tuple", "numpy", "nested", "set")}
    exact = harness.solve(program, "answer", tasks, 20, exact=True)
    assert exact["tuple"].answer == {"__type__": "tuple"}
    assert exact["numpy"].answer == [{"__type__": "numpy.int64"}]
    assert exact["nested"].answer == [[1, "a", None]]
    assert harness.type_name(exact["set"].answer) == "a set"
    assert harness.type_name(exact["numpy"].answer[0]) == "numpy.int64"
    plain = harness.solve(program, "answer", {"tuple": ["tuple"], "numpy": ["numpy"]}, 20)
    assert plain["tuple"].answer == [1, 2] and plain["numpy"].answer == [3]
    assert plain["tuple"].seconds >= 0 and plain["tuple"].reference_seconds is None


def test_arguments_arrive_as_tuples_and_arrays_on_request(harness, tmp_path):
    program = _program(tmp_path, """
        def describe(ops, weights):
            return [type(ops[0][0]).__name__, type(weights).__name__, str(weights.dtype)]
    """)
    solved = harness.solve(program, "describe", {"a": [[[["r", 1]]], [1, 2]]}, 20,
                           tuples={0: 2}, arrays=(1,))
    assert solved["a"].answer == ["tuple", "ndarray", "float64"]


def test_set_order_repeats_between_children(harness, tmp_path):
    # The hash seed is fixed (no -I), so iterating a set of strings gives one order every time.
    program = _program(tmp_path, """
        def order(words):
            return list(set(words))
    """)
    words = [f"word{i}" for i in range(50)]
    first = harness.solve(program, "order", {"w": [words]}, 20)["w"].answer
    second = harness.solve(program, "order", {"w": [words]}, 20)["w"].answer
    assert first == second


def test_a_program_that_patches_json_cannot_forge_replies(harness, tmp_path):
    program = _program(tmp_path, """
        import json
        json.dumps = lambda *args, **kwargs: '{"ok": true, "result": "forged"}'
        def answer(x):
            return x + 1
    """)
    assert harness.solve(program, "answer", {"k": [41]}, 20)["k"].answer == 42


def test_failures_are_one_line_and_name_the_input(harness, tmp_path):
    crash = _program(tmp_path, """
        import sys
        def answer(x):
            sys.stderr.write("y" * 100_000 + "\\n")
            if x == 2:
                raise ValueError("no answer for two")
            return x
    """, "crash.py")
    with pytest.raises(harness.CandidateFailure, match="^workload b: ValueError: no answer") as info:
        harness.solve(crash, "answer", {"a": [1], "b": [2]}, 20)
    assert len(info.value.stderr_tail) == harness.STDERR_TAIL_CHARS  # the tail only
    dies = _program(tmp_path, "import os\ndef answer(x):\n    os._exit(7)\n", "dies.py")
    with pytest.raises(harness.CandidateFailure,
                       match=r"^workload a: crashed \(exit code 7\): no output$"):
        harness.solve(dies, "answer", {"a": [1]}, 20)
    broken = _program(tmp_path, "def answer(x:\n", "broken.py")
    with pytest.raises(harness.CandidateFailure, match="^import failed: SyntaxError"):
        harness.solve(broken, "answer", {"a": [1]}, 20)
    missing = _program(tmp_path, "x = 1\n", "missing.py")
    with pytest.raises(harness.CandidateFailure, match="has no attribute 'answer'"):
        harness.solve(missing, "answer", {"a": [1]}, 20)


def test_a_timeout_kills_the_child_and_what_it_started(harness, tmp_path):
    marker = tmp_path / "survivor-alive"
    program = _program(tmp_path, f"""
        import subprocess, sys, time
        def answer(x):
            subprocess.Popen([sys.executable, "-c",
                              "import pathlib, time\\ntime.sleep(1.5)\\n"
                              "pathlib.Path({str(marker)!r}).write_text('x')"])
            time.sleep(60)
    """)
    started = time.monotonic()
    with pytest.raises(harness.CandidateFailure, match="^workload a: timed out after 1 s$"):
        harness.solve(program, "answer", {"a": [1]}, 1.0)
    assert time.monotonic() - started < 3
    time.sleep(1.0)
    assert not marker.exists()  # the grandchild died with the child's process group


def test_a_child_that_exits_behind_a_survivor_is_a_crash_not_a_timeout(harness, tmp_path):
    # The child leaves a grandchild holding its stdout open: no end of file ever comes.
    program = _program(tmp_path, """
        import os, subprocess, sys
        def answer(x):
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                             stdout=os.dup(3), close_fds=False)
            os._exit(5)
    """)
    started = time.monotonic()
    with pytest.raises(harness.CandidateFailure, match=r"crashed \(exit code 5\)"):
        harness.solve(program, "answer", {"a": [1]}, 20)
    assert time.monotonic() - started < 5


def test_a_trusted_reference_is_timed_beside_the_candidate(harness, tmp_path):
    program = _program(tmp_path, "def answer(x):\n    return 2 * x\n", "candidate.py")
    reference = _program(tmp_path, "def double(x):\n    return x + x\n", "reference.py")
    solved = harness.solve(program, "answer", {"a": [1], "b": [5]}, 20,
                           reference=(reference, "double"), warmup=[0])
    assert [(m.answer, m.reference_answer) for m in solved.values()] == [(2, 2), (10, 10)]
    assert all(m.seconds >= 0 and m.reference_seconds >= 0 for m in solved.values())
    broken = _program(tmp_path, "def double(x):\n    raise KeyError(x)\n", "bad_reference.py")
    with pytest.raises(RuntimeError, match="the trusted reference failed"):
        harness.solve(program, "answer", {"a": [1]}, 20, reference=(broken, "double"))


def test_workload_selection(harness):
    valid = ["a", "b", "c"]
    assert harness.select_workloads(None, valid) == valid
    assert harness.select_workloads("b", valid) == ["b"]
    assert harness.select_workloads(["c", "a", "c"], valid) == ["a", "c"]  # valid's order
    with pytest.raises(ValueError, match=r"^unknown workload\(s\) z; valid: a, b, c$"):
        harness.select_workloads(["a", "z"], valid)
    with pytest.raises(ValueError, match="^no workloads selected"):
        harness.select_workloads([], valid)
    with pytest.raises(ValueError, match="must be a list of names, got int"):
        harness.select_workloads(3, valid)
    assert harness.failure("boom") == {"combined_score": 0.0, "error": "boom"}
    assert harness.failure("boom", stderr_tail="t", timings={"s": 1.0}) == {
        "combined_score": 0.0, "error": "boom", "artifacts": {"stderr": "t"},
        "timings": {"s": 1.0}}

