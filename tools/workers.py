"""Warm jailed workers: per problem, a few long-lived jailed processes that have imported the
trusted evaluator and fork a fresh process per evaluation (tools/_serve.py), so an evaluation
costs a fork, not an interpreter and a jail.

Each worker runs in the isolation the machine allows (tools/jail.py) with its own scratch folder,
the only place it can write; the problem folder is a private copy in a neutral temporary folder,
so nothing a worker sees, runs or starts from names the run that uses it. Every evaluation keeps
what a cold one had: its own session and process group, the resource limits, no network, the
candidate in its nested jail ($ADRS_CANDIDATE_PREFIX), and nothing of it alive afterwards (the
worker kills whatever the evaluation left and says how many it found).
"""

from __future__ import annotations

import itertools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from adrs.tools._serve import CONTROL_FD_ENV, recv_message, send_message
from adrs.tools.cgroup import Cgroup
from adrs.tools.isolation import CANDIDATE_PREFIX_ENV
from adrs.tools.jail import JAIL_FILES, Isolation, candidate_prefix, command, landlock_rules
from adrs.tools.sandbox import (
    MAX_RESULT_BYTES,
    SandboxLimits,
    SandboxOutcome,
    _ChannelReader,
    _decode_result,
    _signal_name,
    _tail,
    clean_env,
    count_tasks,
    rlimits,
)

SERVE_PATH = Path(__file__).with_name("_serve.py")
WORKER_PATH = Path(__file__).with_name("_worker.py")
# What the worker loads by path besides itself (it runs without the adrs package).
WORKER_FILES = tuple(Path(__file__).with_name(name) for name in (
    "results.py", "cascade.py", "requirements.py", "workdir.py", "peer_shims"))
PROGRAM_NAME = "program.py"
SCRATCH_PREFIX, STAGE_PREFIX = "adrs-w-", "adrs-problem-"  # then the owning pid and a dash
GRACE_SECONDS = 10.0  # past an evaluation's timeout before its worker counts as stuck
# A worker forks per evaluation: numeric libraries must not start thread pools before the fork.
THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Request:
    """One evaluation: call `function(program_path, **kwargs)` of the evaluator on `source`."""

    function: str
    source: str
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class EvaluatorSetup:
    """How a problem's evaluator runs in its workers: which file, in which folder (its working
    directory is a writable mirror of it), under which Python, with what it was promised."""

    evaluator: str = "evaluator.py"  # relative to the problem folder
    workdir: str = "."  # the evaluator's folder, relative to the problem folder
    program_name: str = PROGRAM_NAME  # the candidate's file, in the workdir
    python: str = sys.executable  # the problem's own environment's, when it declares one
    env: dict[str, str] = field(default_factory=dict)  # declared variables, $ADRS_DATA_DIR
    read_only: tuple[Path, ...] = ()  # shown besides the problem: its environment, the data
    options: dict = field(default_factory=dict)  # the cascade's (tools/cascade.py)

    @property
    def program_path(self) -> str:
        return (Path(self.workdir) / self.program_name).as_posix()


# Under root, each worker drops to a user id of its own in this range (none of them has a name):
# RLIMIT_NPROC counts per user, so a worker's task limit is its own, not shared with every
# jail on the machine that runs as `nobody`, and no worker may signal another's processes.
JAIL_UIDS = range(2_000_000_000, 2_000_000_000 + (1 << 24))  # below 2**31: tools print them signed


def free_uid(seed: int) -> int:
    """A user id of JAIL_UIDS that no process uses now, searched from `seed`."""
    used = set()
    for entry in os.scandir("/proc"):
        try:
            if entry.name.isdigit():
                used.add(entry.stat().st_uid)
        except OSError:
            continue  # it ended while we looked
    for step in range(len(JAIL_UIDS)):
        uid = JAIL_UIDS[(seed + step) % len(JAIL_UIDS)]
        if uid not in used:
            return uid
    raise RuntimeError("no free user id for a worker")


def clear_stale(folder: Path | None) -> None:
    """Remove the scratch folders and problem copies of adrs processes that are gone."""
    if folder is None or not folder.is_dir():
        return
    for prefix in (SCRATCH_PREFIX, STAGE_PREFIX):
        for path in folder.glob(f"{prefix}*-*"):
            pid = path.name.removeprefix(prefix).split("-")[0]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                shutil.rmtree(path, ignore_errors=True)


class TaskCounter:
    """The user's task count for RLIMIT_NPROC, rescanned at most every `max_age` seconds: a scan
    of /proc costs about as much as a whole warm evaluation, and the limit is an allowance."""

    def __init__(self, max_age: float = 1.0) -> None:
        self._max_age = max_age
        self._seen: dict[int, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def count(self, uid: int) -> int:
        with self._lock:
            when, tasks = self._seen.get(uid, (-self._max_age, 0))
            if time.monotonic() - when >= self._max_age:
                tasks = count_tasks(uid)
                self._seen[uid] = (time.monotonic(), tasks)
            return tasks


TASKS = TaskCounter()
_NUMBERS = itertools.count()  # workers started by this process: seeds their user ids


class WorkerGone(RuntimeError):
    """The worker could not start or stopped answering; `outcome` says how it ended."""

    def __init__(self, outcome: SandboxOutcome) -> None:
        lines = outcome.stderr_tail.strip().splitlines()
        super().__init__(lines[-1] if lines else "the worker is gone")
        self.outcome = outcome


class WarmWorker:
    """One jailed process serving evaluations of one problem, one at a time."""

    def __init__(self, problem_root: Path, limits: SandboxLimits, isolation: Isolation, *,
                 scratch_root: Path | None, spawn: Callable[..., subprocess.Popen],
                 cgroup: Cgroup | None = None, setup: EvaluatorSetup | None = None) -> None:
        self.setup = setup = setup or EvaluatorSetup()
        if isolation.user is not None:  # root: a user of its own (see JAIL_UIDS)
            uid = free_uid(os.getpid() * 64 + next(_NUMBERS))
            isolation = replace(isolation, user=(uid, uid))
        self.limits, self.isolation, self.cgroup = limits, isolation, cgroup
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-",
                                              dir=scratch_root)).resolve()
        if isolation.user is not None:
            os.chown(self.scratch, *isolation.user)
        shown = [problem_root, SERVE_PATH, WORKER_PATH, *WORKER_FILES, *setup.read_only]
        extra = {**THREAD_ENV, **setup.env}
        if isolation.nested:
            extra[CANDIDATE_PREFIX_ENV] = json.dumps(candidate_prefix(
                isolation, scratch=self.scratch, hidden=[problem_root], read_only=shown))
        self._landlock = (landlock_rules([*shown, *JAIL_FILES, Path(sys.executable),
                                          Path(setup.python)],
                                         scratch=self.scratch)
                          if isolation.kind == "landlock" else None)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # The worker's own output (what importing the evaluator printed), for as long as it lives.
        self._sock, self._log = ours, tempfile.TemporaryFile()  # noqa: SIM115
        env = {**clean_env(self.scratch, extra), CONTROL_FD_ENV: str(theirs.fileno())}
        worker_limits = [r for r in rlimits(limits) if r[0] not in ("RLIMIT_CPU", "RLIMIT_NPROC")]
        served = {"problem_root": str(problem_root), "workdir": setup.workdir,
                  "options": setup.options, "also_empty": list(isolation.writable_outside_scratch)}
        argv = command(isolation, [setup.python, "-s", "-P", str(SERVE_PATH),
                                   str(problem_root / setup.evaluator), json.dumps(served)],
                       scratch=self.scratch, read_only=shown, rlimits=worker_limits,
                       cgroup=cgroup.path if cgroup else None, sees_processes=True)
        started = time.monotonic()
        try:
            self._proc = spawn(argv, cwd=self.scratch, env=env, stdin=subprocess.DEVNULL,
                               stdout=self._log, stderr=self._log, pass_fds=(theirs.fileno(),),
                               start_new_session=True)
        finally:
            theirs.close()
        # Importing the evaluator may take a while; it gets the time of one evaluation.
        reply = self._reply(limits.timeout_seconds)
        if not isinstance(reply, dict):
            raise WorkerGone(self._ended(time.monotonic() - started, reply))
        self._resident = len(cgroup.procs()) if cgroup else 0  # the jail and the worker itself
        # Its own user under root: its tasks now are all its user has, until an evaluation.
        self._tasks = count_tasks(isolation.user[0]) if isolation.user else None

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def run(self, request: Request) -> SandboxOutcome:
        """Evaluate in a fresh fork of this worker; raises WorkerGone if the worker died."""
        tasks = self._tasks if self._tasks is not None else TASKS.count(os.geteuid())
        message = {"function": request.function, "source": request.source,
                   "kwargs": request.kwargs, "program_name": self.setup.program_path,
                   "timeout": self.limits.timeout_seconds, "env": {}, "landlock": self._landlock,
                   "rlimits": rlimits(self.limits, tasks_now=tasks)}
        read_fd, write_fd = os.pipe()
        reader = _ChannelReader(read_fd, MAX_RESULT_BYTES)
        started = time.monotonic()
        try:
            with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
                try:
                    send_message(self._sock, message, [out.fileno(), err.fileno(), write_fd])
                finally:
                    os.close(write_fd)
                reader.start()
                reply = self._reply(self.limits.timeout_seconds + GRACE_SECONDS)
                reader.finish()
                stdout, stderr = (_tail(f, self.limits.max_output_bytes) for f in (out, err))
        except OSError:  # the worker is gone: sending to it failed
            reply, stdout, stderr = "gone", "", ""
        finally:
            if reader.is_alive():
                reader.finish()
            os.close(read_fd)
        if not isinstance(reply, dict):
            raise WorkerGone(self._ended(time.monotonic() - started, reply, stderr))
        if reply.get("alive_after") or self._strays():  # never reuse a worker that is not clean
            self.close()
        result, result_error = _decode_result(reader.data, reader.overflowed)
        status = reply["status"]
        return SandboxOutcome(
            status=status, returncode=reply.get("returncode"),
            signal_name=_signal_name(reply["signal"]) if status == "signalled" else
            "SIGKILL" if status == "timeout" else None,
            stdout_tail=stdout, stderr_tail=stderr, duration_seconds=reply["duration"],
            result=result, result_error=result_error, isolation=self.isolation.kind)

    def _strays(self) -> int:
        """Processes in the worker's cgroup beyond its jail: the outside view of what the worker
        says it swept (0 without a cgroup)."""
        return max(0, len(self.cgroup.procs()) - self._resident) if self.cgroup else 0

    def _reply(self, timeout: float) -> dict | str:
        """The worker's next message; "timeout" if it said nothing in time, "gone" if it died."""
        poller = select.poll()
        poller.register(self._sock, select.POLLIN)
        if not poller.poll(max(1, int(timeout * 1000))):
            return "timeout"
        try:
            return recv_message(self._sock)[0]
        except (EOFError, OSError, ValueError):
            return "gone"

    def _ended(self, duration: float, why: str, stderr: str | None = None) -> SandboxOutcome:
        """Stop a worker that gave no answer: while starting (`stderr` None: its own output
        says why) or during an evaluation; the outcome of the evaluation it owed."""
        if why == "gone":
            try:  # it is on its way out: let it go with its own exit code
                self._proc.wait(timeout=GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        self.close()
        code, starting = self._proc.returncode, stderr is None
        if stderr is None:
            stderr = _tail(self._log, self.limits.max_output_bytes)
        elif why == "gone":  # killed mid-evaluation, most likely by what it evaluated
            ended = f"killed by {_signal_name(-code)}" if code and code < 0 else f"exit code {code}"
            stderr += f"\nsandbox: the evaluation's worker died ({ended})"
        common = dict(stdout_tail="", stderr_tail=stderr.strip(), duration_seconds=duration,
                      result=None, isolation=self.isolation.kind)
        if why == "timeout":
            return SandboxOutcome(status="timeout", returncode=None, signal_name="SIGKILL", **common)
        if code is not None and code < 0 and starting:
            return SandboxOutcome(status="signalled", returncode=None,
                                  signal_name=_signal_name(-code), **common)
        return SandboxOutcome(status="exited", returncode=code, signal_name=None, **common)

    def close(self) -> None:
        """Stop the worker (its jail dies with it) and remove its scratch folder."""
        if hasattr(self, "_proc"):
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._proc.wait()
        if self.cgroup is not None:
            self.cgroup.remove()  # whatever is left of the jail, however it detached
        self._sock.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
