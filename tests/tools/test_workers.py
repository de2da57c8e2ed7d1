"""tools/workers.py: warm jailed workers import the evaluator once and fork per evaluation, with
the guarantees of a cold one (own session, nothing left alive, an empty scratch, nothing naming
where the problem came from)."""

from __future__ import annotations

import json
import os
import textwrap
import time
from pathlib import Path

import pytest

from adrs.tools.evaluation import EvaluationTool
from adrs.tools.isolation import current
from adrs.tools.pool import WorkerPool
from adrs.tools.problem import Problem
from adrs.tools.sandbox import SandboxLimits
from adrs.tools.workers import JAIL_UIDS, Request
from tests.adversarial.test_corpus import survivors

PROGRAM = "# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\n"
LIMITS = SandboxLimits(timeout_seconds=3, memory_mb=1024)
# The evaluator reports who it is: its pid, its worker's, its user, and what it can see.
REPORTER = """
import json, os, time
IMPORTED_AT = time.time()
CALLS = []

def evaluate(program_path, workloads=None):
    CALLS.append(1)
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as handle:
            worker_argv = handle.read().decode().replace("\\0", " ")
    except OSError:  # under Landlock an evaluation cannot read /proc
        worker_argv = "unreadable"
    return {"combined_score": float(len(CALLS)), "artifacts": {
        "pid": str(os.getpid()), "worker": str(os.getppid()), "uid": str(os.getuid()),
        "sid": str(os.getsid(0)), "imported_at": repr(IMPORTED_AT), "cwd": os.getcwd(),
        "program": program_path, "worker_argv": worker_argv, "env": json.dumps(dict(os.environ)),
        "files": json.dumps(sorted(os.listdir(".")))}}
"""


def make_problem(parent: Path, evaluator: str, name: str = "problem") -> Problem:
    folder = parent / name
    folder.mkdir(parents=True)
    (folder / "README.md").write_text("A warm-worker test problem.\n")
    (folder / "initial.py").write_text(PROGRAM)
    (folder / "evaluator.py").write_text(textwrap.dedent(evaluator))
    (folder / "problem.toml").write_text('name = "warm"\n[limits]\ntimeout_seconds = 3\n')
    return Problem.load(folder)


@pytest.fixture
def reporter(tmp_path):
    # A folder named like a run: nothing the evaluation sees may lead back to it.
    problem = make_problem(tmp_path / "runs" / "the-run-7f3a" / ".adrs", REPORTER)
    with EvaluationTool(problem, scratch_root=tmp_path / "scratch", limits=LIMITS) as tool:
        yield tool


def test_one_worker_imports_once_and_forks_a_fresh_process_per_evaluation(reporter):
    first, second = (reporter.evaluate(PROGRAM).artifacts for _ in range(2))
    assert first["worker"] == second["worker"] and first["pid"] != second["pid"]
    assert first["imported_at"] == second["imported_at"]  # imported once, by the worker
    assert reporter.evaluate(PROGRAM).combined_score == 1.0  # no state carried over: a fresh fork
    assert first["sid"] == first["pid"]  # its own session, so its own process group


def test_nothing_the_evaluation_sees_names_where_the_problem_came_from(reporter):
    seen = reporter.evaluate(PROGRAM).artifacts
    for key in ("cwd", "program", "worker_argv", "env"):
        assert "the-run-7f3a" not in seen[key], (key, seen[key])
    assert "OPENAI_API_KEY" not in seen["env"]
    # The scratch folder holds the candidate and the mirror of the problem folder (links into the
    # worker's private copy of it, which the candidate's nested jail hides).
    assert set(json.loads(seen["files"])) == {"program.py", "README.md", "evaluator.py",
                                              "initial.py", "problem.toml"}


def test_under_root_each_worker_has_a_user_of_its_own(tmp_path):
    if os.geteuid() != 0 or not current().jailed:
        pytest.skip("workers change user only when adrs runs as root in a jail")
    problem = make_problem(tmp_path, REPORTER + "\nimport time as _t\n_t.sleep(0)\n")
    with EvaluationTool(problem, workers=2, limits=LIMITS) as tool:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as threads:
            seen = list(threads.map(lambda _: tool.evaluate(PROGRAM).artifacts, range(2)))
    uids = {int(s["uid"]) for s in seen}
    assert all(uid in JAIL_UIDS for uid in uids)


DETACHER = """
import os, subprocess, sys

def evaluate(program_path, workloads=None):
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "adrs-warm-sleeper"],
                     start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.makedirs("locked/inner")
    open("locked/inner/file", "w").close()
    os.chmod("locked", 0)
    return {"combined_score": 1.0, "artifacts": {"cwd": os.getcwd()}}
"""


def test_what_an_evaluation_leaves_is_killed_and_its_scratch_emptied(tmp_path):
    problem = make_problem(tmp_path, DETACHER)
    with EvaluationTool(problem, scratch_root=tmp_path / "scratch", limits=LIMITS) as tool:
        result = tool.evaluate(PROGRAM)
        assert result.ok, result.error
        assert survivors(["adrs-warm-sleeper"]) == []  # no waiting: gone before the answer
        left = list(Path(result.artifacts["cwd"]).iterdir())  # the problem's mirror alone
        assert left and all(path.is_symlink() for path in left)


KILLER = """
import os, signal, time
STARTED = repr(time.time())  # tells workers apart (in a PID namespace each one is PID 2)

def evaluate(program_path, workloads=None):
    if open(program_path).read().startswith("kill"):
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(5)
    return {"combined_score": 1.0, "artifacts": {"worker": STARTED}}
"""


def test_an_evaluation_that_kills_its_worker_fails_and_the_next_gets_a_new_one(tmp_path):
    problem = make_problem(tmp_path, KILLER)
    with EvaluationTool(problem, limits=LIMITS) as tool:
        before = tool.evaluate(PROGRAM).artifacts["worker"]
        killed = tool.evaluate("kill\n" + PROGRAM)
        after = tool.evaluate(PROGRAM)
    if current().kind == "landlock":  # its Landlock domain may not signal outside (ABI 6+)
        assert not killed.ok and "Operation not permitted" in killed.error
        assert after.ok and after.artifacts["worker"] == before
    else:
        assert not killed.ok and "worker died" in killed.error
        assert after.ok and after.artifacts["worker"] != before


SLEEPER = """
import os, time

def evaluate(program_path, workloads=None):
    if open(program_path).read().startswith("sleep"):
        time.sleep(60)
    return {"combined_score": 1.0, "artifacts": {"worker": str(os.getppid())}}
"""


def test_a_timed_out_evaluation_is_killed_and_its_worker_serves_the_next(tmp_path):
    problem = make_problem(tmp_path, SLEEPER)
    quick = SandboxLimits(timeout_seconds=1, memory_mb=1024)
    with EvaluationTool(problem, limits=quick) as tool:
        before = tool.evaluate(PROGRAM).artifacts["worker"]
        began = time.monotonic()
        slow = tool.evaluate("sleep\n" + PROGRAM)
        assert time.monotonic() - began < 3
        after = tool.evaluate(PROGRAM)
    assert slow.summary_line() == "timeout after 1 s"
    assert after.ok and after.artifacts["worker"] == before


def test_the_pool_copies_the_problem_and_removes_everything_on_close(tmp_path):
    problem = make_problem(tmp_path, REPORTER)
    pool = WorkerPool(problem.root, LIMITS, size=2, scratch_root=tmp_path / "scratch")
    outcome = pool.run(Request("evaluate", PROGRAM))
    assert outcome.status == "exited" and outcome.result["ok"], outcome.stderr_tail
    staged = pool.problem_root
    assert staged.is_dir() and not str(staged).startswith(str(tmp_path))
    if pool.cgroups is not None:  # the outside count agrees: only the jail is left
        (worker,) = pool._idle
        assert worker._strays() == 0
    pool.close()
    assert not staged.exists() and list((tmp_path / "scratch").iterdir()) == []


def test_warm_up_starts_every_worker_before_any_evaluation(tmp_path):
    problem = make_problem(tmp_path, REPORTER)
    pool = WorkerPool(problem.root, LIMITS, size=3, scratch_root=tmp_path / "scratch")
    pool.warm_up()
    pool.warm_up()  # nothing more to start
    deadline = time.monotonic() + 30
    while len(pool._idle) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(pool._idle) == 3 and all(worker.alive for worker in pool._idle)
    for _ in range(3):
        outcome = pool.run(Request("evaluate", PROGRAM))
        assert outcome.status == "exited" and outcome.result["ok"], outcome.stderr_tail
    assert pool._started == 3  # warm workers served them: no fourth one was started
    pool.close()
    assert list((tmp_path / "scratch").iterdir()) == []


def test_a_pool_closed_while_warming_up_leaves_nothing_behind(tmp_path):
    problem = make_problem(tmp_path, REPORTER)
    pool = WorkerPool(problem.root, LIMITS, size=3, scratch_root=tmp_path / "scratch")
    pool.warm_up()
    pool.close()  # at once: the workers are still starting
    assert list((tmp_path / "scratch").iterdir()) == [] and not pool.problem_root.exists()
    assert survivors([str(pool.problem_root), str(tmp_path / "scratch")]) == []


def test_folders_of_killed_adrs_processes_are_cleared(tmp_path):
    problem = make_problem(tmp_path, REPORTER)
    scratch_root = tmp_path / "scratch"
    dead = scratch_root / "adrs-w-999999999-abc"  # no such process: SIGKILLed long ago
    (dead / "left").mkdir(parents=True)
    alive = scratch_root / f"adrs-w-{os.getpid()}-abc"  # this process: not touched
    alive.mkdir()
    WorkerPool(problem.root, LIMITS, scratch_root=scratch_root).close()
    assert not dead.exists() and alive.exists()


def test_the_evaluator_module_takes_its_file_s_name_unless_that_shadows_another():
    from adrs.tools._worker import module_name

    assert module_name("/p/evaluator.py") == "evaluator"  # spawned pool children import it so
    assert module_name("/p/csv.py").startswith("adrs_evaluator_")  # would shadow the real csv
    assert module_name("/p/json.py").startswith("adrs_evaluator_")  # imported already
    assert module_name("/p/my-eval.py").startswith("adrs_evaluator_")  # not a module name
