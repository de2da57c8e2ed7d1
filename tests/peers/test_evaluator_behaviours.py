"""Peer evaluators do more at run time than read a file and score it: they start the candidate in
a child process (sys.executable, a timeout, a pickle beside a temporary script), fan scenarios
out to process pools, guard calls with signal.alarm and threads, read data beside themselves or
in the working directory, name folders after the user, print megabytes. Each fixture folder does
some of these; it runs unchanged through the real CLI inside the sandbox, and leaves nothing
running or written outside its scratch folder. A candidate that hangs inside the evaluator's own
child process or pool is stopped at adrs's timeout, whatever longer timeout the evaluator set.
One habit is refused: writing to a fixed path under /tmp; the error says where to write instead.
"""

from __future__ import annotations

import os
import re
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from adrs.tools.evaluation import EvaluationStatus, EvaluationTool
from adrs.tools.isolation import current
from adrs.tools.problem import Problem
from adrs.tools.workers import GRACE_SECONDS
from tests.peers.helpers import adrs, error_line, fixture, records, tree_digest

TIMEOUT = 4  # the fixtures' config.yaml: evaluator.timeout
# What this test process's workers start carries one of these in its command line or path:
# the problem's private copy, or the workers' scratch folders (the candidate's script is there).
MARKERS = (f"adrs-problem-{os.getpid()}-", f"adrs-w-{os.getpid()}-")


def processes_left(markers: tuple[str, ...] = MARKERS) -> list[str]:
    """Command lines of live processes that name one of `markers` in their command line or their
    environment (TMPDIR is the scratch folder: a spawned pool child names it there only)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue  # not a process, or it ended while we looked
        try:
            environ = (entry / "environ").read_bytes().decode(errors="replace")
        except OSError:
            environ = ""  # another user's, or not dumpable: its command line must do
        if state not in ("Z", "X") and any(m in line or m in environ for m in markers):
            found.append(line)
    return found


def files_left() -> list[str]:
    """What this process's workers (or an evaluator escaping them) left in the host's /tmp."""
    temp = Path(tempfile.gettempdir())
    return sorted(path.name for path in temp.iterdir()
                  if path.name.startswith(MARKERS) or path.name.startswith("peerfix-"))


def settled(check, seconds: float = 5.0) -> list[str]:
    """`check()` once it is empty, or what it still finds after `seconds`."""
    deadline = time.monotonic() + seconds
    while (found := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


needs_jail = pytest.mark.skipif(not current().jailed, reason="needs a jail (bwrap or namespaces)")

RUNS = {
    # A driver script in a NamedTemporaryFile, run with sys.executable under communicate(timeout=),
    # decisions back through a pickle file; numpy figures; an EvaluationResult; a 2-stage cascade.
    "subprocess_pickle": {"combined_score", "quick_check", "served_share"},
    # concurrent.futures.ProcessPoolExecutor (fork) and a multiprocessing "spawn" Pool: locks in
    # /dev/shm, the evaluator imported again by name in the spawned children.
    "process_pool": {"combined_score", "worst_latency", "valid"},
    # signal.alarm, a thread joined with a timeout, data beside __file__ and in the cwd,
    # os.environ, getpass.getuser(), about 2 MB on stdout.
    "alarm_threads_data": {"combined_score", "admitted", "shed"},
}


@needs_jail
@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_evaluator_runs_unchanged_in_the_sandbox(name, tmp_path):
    folder = fixture(name, tmp_path)
    before = tree_digest(folder)
    code, out = adrs("run", folder, "--iterations", 2, "--run-dir", tmp_path / "run")
    assert code == 0, out
    assert "stopped: completed 2 iterations" in out
    found = records(tmp_path / "run")
    assert [r.status for r in found] == ["baseline", "evaluated", "evaluated"], \
        [r.message.verdict for r in found]
    baseline = found[0].message
    assert baseline.score is not None and baseline.score > 0
    assert set(baseline.metrics) | {"combined_score"} == RUNS[name]
    assert all(r.message.score is not None for r in found)
    assert tree_digest(folder) == before  # nothing written into the folder as given
    assert settled(processes_left) == []
    assert settled(files_left) == []


@needs_jail
def test_an_evaluator_writing_to_a_fixed_tmp_path_is_told_where_it_may_write(tmp_path):
    folder = fixture("fixed_tmp", tmp_path)
    code, out = adrs("run", folder, "--iterations", 2, "--run-dir", tmp_path / "run")
    assert code == 2
    line = error_line(out)
    assert re.fullmatch(r"error: the baseline of problem fixed_tmp does not evaluate: crash: "
                        r"evaluate raised: OSError: \[Errno 30\] Read-only file system: "
                        r"'/tmp/peerfix-\w+' \(in the sandbox only the working directory and "
                        r"\$TMPDIR are writable\)", line), line
    assert not (tmp_path / "run").exists()
    assert settled(processes_left) == []
    assert settled(files_left) == []


HANGS = {
    # The hang is in the evaluator's own child (subprocess.Popen + communicate(timeout=600)).
    "subprocess_pickle": ("    if oldest_wait >= TARGET_WAIT:",
                          "    while True:\n        pass\n    if oldest_wait >= TARGET_WAIT:"),
    # The hang is in a process pool's worker (future.result(timeout=600)).
    "process_pool": ("    costs = [", "    while True:\n        pass\n    costs = ["),
}


@needs_jail
@pytest.mark.parametrize("name", sorted(HANGS))
def test_a_candidate_hanging_in_the_evaluators_child_is_killed_at_the_timeout(name, tmp_path):
    problem = Problem.load(fixture(name, tmp_path))
    old, new = HANGS[name]
    assert old in problem.initial_source
    with EvaluationTool(problem) as tool:
        hung = tool.evaluate(problem.initial_source.replace(old, new))
        assert hung.status is EvaluationStatus.TIMEOUT
        assert hung.error == f"timed out after {TIMEOUT} s"
        assert hung.summary_line() == f"timeout after {TIMEOUT} s"
        assert TIMEOUT <= hung.duration_seconds < TIMEOUT + GRACE_SECONDS
        # Its child and pool are gone at once, not at the evaluator's own (600 s) timeout.
        assert settled(lambda: processes_left(("peerfix-",)), 1.0) == []
        assert tool.evaluate(problem.initial_source).ok  # the next evaluation is unharmed
    assert settled(processes_left) == []
    assert settled(files_left) == []


@needs_jail
def test_a_candidate_hanging_in_the_evaluators_thread_gets_its_answer(tmp_path):
    """The evaluator's own thread timeout is shorter than adrs's: its verdict stands."""
    problem = Problem.load(fixture("alarm_threads_data", tmp_path))
    source = problem.initial_source.replace("    return tokens >= cost",
                                            "    while True:\n        pass")
    with EvaluationTool(problem) as tool:
        result = tool.evaluate(source)
    assert result.status is EvaluationStatus.INVALID
    assert result.error == "admit() did not answer in 1 s"
    assert result.duration_seconds < TIMEOUT
    assert settled(processes_left) == []


# The jail's /dev/shm: writable (multiprocessing needs it), its own, bounded, and empty again
# before every evaluation of a warm worker.
SHM_EVALUATOR = """
    import json, multiprocessing, os, subprocess, sys

    PROBE = '''
    import json, multiprocessing, os
    lock = multiprocessing.Lock()  # a POSIX semaphore: /dev/shm must be writable
    print(json.dumps(sorted(os.listdir("/dev/shm"))))
    '''

    def evaluate(program_path):
        seen = sorted(os.listdir("/dev/shm"))
        with open(f"/dev/shm/left-by-{os.getpid()}", "w") as handle:
            handle.write("state a later evaluation must not find")
        prefix = json.loads(os.environ["ADRS_CANDIDATE_PREFIX"])
        nested = subprocess.run(prefix + [sys.executable, "-c", PROBE], capture_output=True,
                                text=True, timeout=20)
        with multiprocessing.Pool(2) as pool:
            squares = pool.map(abs, [-1, -2, -3])
        return {"combined_score": 1.0, "seen_before": len(seen), "squares": sum(squares),
                "artifacts": {"nested": nested.stdout + nested.stderr}}
"""


@needs_jail
def test_the_jails_dev_shm_is_its_own_and_emptied_between_evaluations(tmp_path):
    if not current().nested:
        pytest.skip("the candidate's nested jail does not work here")
    folder = tmp_path / "shm_problem"
    folder.mkdir()
    (folder / "initial_program.py").write_text("# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\n")
    (folder / "evaluator.py").write_text(textwrap.dedent(SHM_EVALUATOR))
    host_before = set(os.listdir("/dev/shm"))
    problem = Problem.load(folder)
    with EvaluationTool(problem, scratch_root=tmp_path / "scratch") as tool:
        results = [tool.evaluate(problem.initial_source) for _ in range(2)]
    for result in results:
        assert result.ok, result.summary_line() + str(result.artifacts)
        assert result.metrics["squares"] == 6.0
        assert result.metrics["seen_before"] == 0.0  # the first one's file was swept
        assert result.artifacts["nested"].strip() == "[]"  # the candidate sees none of it
    assert not any(name.startswith("left-by-") for name in set(os.listdir("/dev/shm")) - host_before)
