"""The adversarial corpus, each candidate through the real EvaluationTool of a real run.

The arena is a real run of a copy of problems/txn_scheduling (one seed per family, a 3 s budget for
the candidate, 8 s for the whole evaluation) evaluated by a pool of warm jailed workers; its git
repository sits next to the scratch folders, where a candidate that escaped could reach it. After
every candidate: its failure reason (or the trivial score, never more), no process of it left
(by the marker in its command line, and below the idle workers), nothing outside its scratch
changed, no connection made, the API key this process holds never seen. After the corpus:
`git fsck --strict` is clean and every commit is still there.

Cases marked needs_jail are skipped without a jail (ADRS_SANDBOX=none; see docs/reliability.md).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from string import Template

import pytest

from adrs.agents.checks import static_review
from adrs.graph.runner import create_run, execute
from adrs.graph.settings import RunSettings
from adrs.tools._launch import descendants
from adrs.tools.evaluation import EvaluationResult, EvaluationTool
from adrs.tools.isolation import Isolation, IsolationError, current
from adrs.tools.pool import WorkerPool
from adrs.tools.problem import Problem
from adrs.tools.sandbox import SandboxLimits
from adrs.workspace.repository import RunRepository
from tests.adversarial.candidates import BLOCKED, CASES, CONTAINED, TRIVIAL, Case, Fail

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED = REPO_ROOT / "problems" / "txn_scheduling"
SECRET = "sk-adrs-corpus-planted-5f1d0c"
TOKEN = "adrs-corpus-token-7c2e"
TRIVIAL_PROGRAM = TRIVIAL + "\n\ndef schedule(transactions, model):\n    return trivial(transactions)\n"


@dataclass
class Arena:
    isolation: Isolation
    run_dir: Path
    outside: Path
    scratch_root: Path
    tool: EvaluationTool
    places: dict[str, str]
    trivial_score: float
    commits: list[str]
    watched: list[Path]
    fingerprint: dict[str, str]
    server: socket.socket
    unix_server: socket.socket


def problem_toml(original: Path) -> str:
    """The shipped problem.toml with short limits and one seed per split."""
    spec = tomllib.loads(original.read_text(encoding="utf-8"))
    forbidden = ", ".join(f'"{name}"' for name in spec["critic"]["forbidden_imports"])
    return (f'name = "{spec["name"]}"\nsummary = "corpus copy"\n'
            "[limits]\ntimeout_seconds = 8\nmemory_mb = 2048\n"
            "[budget]\niterations = 2\n"
            "[workloads]\ntrain_seeds = [1]\nheldout_seeds = [101]\n"
            "[candidate]\ntimeout_seconds = 3\n"
            f"[critic]\nforbidden_imports = [{forbidden}]\n")


def git(run_dir: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(run_dir), *args], capture_output=True, text=True,
                          check=True).stdout


def fingerprint(paths: list[Path]) -> dict[str, str]:
    """sha256 of every file (and the target of every link) under the paths."""
    seen: dict[str, str] = {}
    for top in paths:
        for folder, _dirs, files in os.walk(top):
            for name in files:
                path = Path(folder) / name
                if path.is_symlink():
                    seen[str(path)] = "link:" + os.readlink(path)
                elif path.is_file():
                    seen[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


def survivors(markers: list[str]) -> list[str]:
    """Command lines of live (non-zombie) processes that mention any marker."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            raw = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            state = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        line = raw.replace(b"\0", b" ").decode("utf-8", "replace")
        if state != "Z" and any(marker in line for marker in markers):
            found.append(f"{entry.name}: {line[:200]}")
    return found


def worker_children() -> list[str]:
    """Processes below an idle warm worker (tools/_serve.py): whatever an evaluation left."""
    workers = [int(entry.name) for entry in os.scandir("/proc") if _is_worker(entry.name)]
    return [f"{pid}: {_cmdline(str(pid))[:200]!r}" for worker in workers
            for pid in descendants(worker)]


def _is_worker(pid: str) -> bool:
    args = _cmdline(pid).split(b"\0")  # python -s -P .../_serve.py evaluator.py
    return pid.isdigit() and len(args) > 3 and args[1:3] == [b"-s", b"-P"] \
        and args[3].endswith(b"_serve.py")


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def wait_for_no_survivors(markers: list[str], within: float = 5.0) -> list[str]:
    deadline = time.monotonic() + within
    while (left := survivors(markers) + worker_children()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def pending_connection(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


# The corpus runs once per mechanism: bubblewrap and the namespace jail, or the one ADRS_SANDBOX
# names (landlock; none for resource limits only). The third case of the issue, no mechanism at
# all, is tests/adversarial/test_refusal.py: a model run refuses to start.
_ASKED = os.environ.get("ADRS_SANDBOX", "auto")
MECHANISMS = ("bwrap", "namespaces") if _ASKED == "auto" else (_ASKED,)


@pytest.fixture(scope="module", params=MECHANISMS)
def arena(request, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADRS_SANDBOX", request.param)
        patch.setenv("OPENAI_API_KEY", SECRET)  # held by this process, as by `adrs run --model`
        isolation = isolation_or_skip()
        yield from _arena(isolation, tmp_path_factory)


def isolation_or_skip() -> Isolation:
    try:
        return current()
    except IsolationError as exc:  # this mechanism does not work on this machine
        pytest.skip(str(exc))


def _arena(isolation: Isolation, tmp_path_factory):
    outside = tmp_path_factory.mktemp(f"corpus-{isolation.kind}")
    problem_dir = outside / "txn_scheduling"
    shutil.copytree(SHIPPED, problem_dir, ignore=shutil.ignore_patterns("__pycache__"))
    (problem_dir / "problem.toml").write_text(problem_toml(SHIPPED / "problem.toml"))
    run_dir = outside / "run"
    problem = Problem.load(problem_dir)
    create_run(problem, RunSettings.build(problem=problem.name, iterations=2, seed=0), run_dir)
    execute(run_dir)
    decoy = outside / "adrs-checkout" / "tools" / "evaluation.py"  # stands for adrs's own source
    decoy.parent.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "tools" / "evaluation.py", decoy)
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    unix_path = outside / "service.sock"
    unix_server = socket.socket(socket.AF_UNIX)
    unix_server.bind(str(unix_path))
    unix_server.listen()
    unix_server.setblocking(False)
    # A process that holds an API key in its environment, as `adrs run` with a model would.
    keeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                              env={"PATH": os.environ.get("PATH", ""), "OPENAI_API_KEY": SECRET})
    scratch_root = outside / "scratch"
    limits = problem.spec.limits
    sandbox_limits = SandboxLimits(timeout_seconds=limits.timeout_seconds,
                                   memory_mb=limits.memory_mb, max_processes=64)
    pool = WorkerPool(run_dir / ".adrs" / "problem", sandbox_limits, scratch_root=scratch_root)
    tool = EvaluationTool(Problem.load(run_dir / ".adrs" / "problem"), executor=pool,
                          limits=sandbox_limits)
    trivial = tool.evaluate(TRIVIAL_PROGRAM)
    assert trivial.ok, trivial.error
    # The evaluator runs from the pool's private copy of the problem: that is what to attack.
    watched = [run_dir, problem_dir, decoy.parent, pool.problem_root]
    places = {"run": str(run_dir), "problem": str(pool.problem_root),
              "shipped": str(SHIPPED), "outside": str(outside), "source": str(decoy),
              "token": TOKEN, "secret": SECRET, "port": str(server.getsockname()[1]),
              "unix_socket": str(unix_path)}
    yield Arena(isolation=isolation, run_dir=run_dir, outside=outside, scratch_root=scratch_root,
                tool=tool, places=places, trivial_score=trivial.combined_score,
                commits=sorted(git(run_dir, "rev-list", "--all").split()), watched=watched,
                fingerprint=fingerprint(watched), server=server, unix_server=unix_server)
    keeper.kill()
    keeper.wait()
    tool.close()
    server.close()
    unix_server.close()


def check_expectation(case: Case, result: EvaluationResult, trivial_score: float) -> None:
    error = result.error or ""
    assert "Escaped" not in error, f"{case.name} escaped: {error}"
    if isinstance(case.expect, Fail):
        assert not result.ok, f"{case.name} should fail, got {result.summary_line()}"
        assert case.expect.text in error, f"{case.name}: {error!r}"
        assert len(result.summary_line()) <= 220  # one clear line, however much it printed
    elif case.expect == BLOCKED:
        assert result.ok, f"{case.name} should be blocked and still score, got {error!r}"
        assert result.combined_score == trivial_score
    else:
        assert case.expect == CONTAINED
        assert not result.ok or result.combined_score == trivial_score, result.summary_line()
    for text in result.artifacts.values():
        assert len(text) <= 8000  # output spam reaches the record only as a short tail


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_candidate_is_contained(arena: Arena, case: Case) -> None:
    if case.needs_jail and not arena.isolation.jailed:
        pytest.skip(f"needs a jail ({arena.isolation.reason})")
    result = arena.tool.evaluate(Template(case.source).substitute(arena.places))
    check_expectation(case, result, arena.trivial_score)
    assert result.duration_seconds < arena.tool.limits.timeout_seconds + 2
    assert wait_for_no_survivors([TOKEN]) == []
    assert fingerprint(arena.watched) == arena.fingerprint, "a file outside scratch changed"
    assert not Path("/tmp", TOKEN).exists()
    assert not pending_connection(arena.server) and not pending_connection(arena.unix_server)
    for folder in arena.scratch_root.iterdir():  # the warm workers' scratch folders hold
        assert only_mirror(folder), folder      # nothing but the problem's mirror again


def only_mirror(folder: Path) -> bool:
    """A scratch folder back to the mirror of the problem folder: links and folders of links."""
    return not (folder / "program.py").exists() and all(
        path.is_symlink() or (path.is_dir() and not path.is_symlink())
        for path in folder.rglob("*"))


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 30
    assert len({case.name for case in CASES}) == len(CASES)


def test_the_critic_rejects_forbidden_imports_before_any_evaluation() -> None:
    initial = (SHIPPED / "initial.py").read_text(encoding="utf-8")
    hostile = initial.replace("SAMPLE_SIZE = 10", "import socket, subprocess\nSAMPLE_SIZE = 10")
    spec = tomllib.loads((SHIPPED / "problem.toml").read_text(encoding="utf-8"))
    findings = static_review(initial, hostile, known_fingerprints=frozenset(),
                             forbidden_imports=tuple(spec["critic"]["forbidden_imports"]))
    reasons = [f.reason for f in findings if f.severity == "reject"]
    assert "imports forbidden module socket" in reasons
    assert "imports forbidden module subprocess" in reasons


def test_the_run_repository_survives_the_corpus(arena: Arena) -> None:
    """Runs last (file order): the run placed within reach is whole and still works."""
    fsck = subprocess.run(["git", "-C", str(arena.run_dir), "fsck", "--full", "--strict"],
                          capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr
    assert "error" not in (fsck.stdout + fsck.stderr).lower()
    assert sorted(git(arena.run_dir, "rev-list", "--all").split()) == arena.commits
    repo = RunRepository.open(arena.run_dir)
    assert [r.key for r in repo.records()] == ["i0000-s0", "i0001-s0", "i0002-s0"]
    assert fingerprint(arena.watched) == arena.fingerprint
    again = arena.tool.evaluate(TRIVIAL_PROGRAM)  # the evaluator was not rewritten
    assert again.ok and again.combined_score == arena.trivial_score
    assert execute(arena.run_dir)["iteration"] == 2  # and the run still opens and resumes
