"""Run one command in a contained child process: resource limits, a clean environment, its own
process group (killed whole at the end), bounded output and a JSON result channel.

Always: rlimits + a process group + a clean environment. Under the isolation the machine allows
(tools/isolation.py decides, tools/jail.py builds) the command also runs jailed: a read-only view
of what it needs, one writable scratch folder (and, with bwrap or namespaces, a /dev/shm of its
own), no network, nothing of it left alive afterwards, and (when adrs runs as root) the `nobody`
user. `build_command` is where the command is wrapped.
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from adrs.tools.isolation import CANDIDATE_PREFIX_ENV, current
from adrs.tools.jail import Isolation, Kind, candidate_prefix, command

RESULT_FD_ENV = "ADRS_RESULT_FD"
MAX_RESULT_BYTES = 16 << 20
_MIB = 1 << 20
_POLL_MS = 50
SWEEP_SECONDS = 2.0
JAIL_USER_NAME = "adrs"
_JAILED_SIGNAL_CODES = range(129, 128 + 65)

@dataclass(frozen=True)
class SandboxLimits:
    """What one sandboxed run may use before it is stopped."""

    timeout_seconds: float           # wall clock; then the whole process group is SIGKILLed
    memory_mb: int                   # RLIMIT_AS
    cpu_seconds: int | None = None   # RLIMIT_CPU (default: ceil(timeout)+1)
    max_output_bytes: int = 1 << 20  # tail of stdout/stderr kept, each
    max_file_mb: int = 64            # RLIMIT_FSIZE (also bounds the captured output files)
    max_open_files: int = 256        # RLIMIT_NOFILE
    max_processes: int = 256         # new tasks (threads count) on top of the user's, RLIMIT_NPROC

    def __post_init__(self) -> None:
        if not self.timeout_seconds > 0:
            raise ValueError(f"timeout_seconds must be > 0, got {self.timeout_seconds}")
        for name in ("memory_mb", "max_output_bytes", "max_file_mb", "max_open_files",
                     "max_processes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.cpu_seconds is not None and self.cpu_seconds <= 0:
            raise ValueError(f"cpu_seconds must be > 0, got {self.cpu_seconds}")

    @property
    def effective_cpu_seconds(self) -> int:
        if self.cpu_seconds is not None:
            return self.cpu_seconds
        return math.ceil(self.timeout_seconds) + 1


@dataclass(frozen=True)
class SandboxOutcome:
    """How a sandboxed run ended and what it left behind."""

    status: Literal["exited", "timeout", "signalled"]
    returncode: int | None           # set when status == "exited"
    signal_name: str | None          # the killing signal when "signalled" or "timeout"
    stdout_tail: str
    stderr_tail: str
    duration_seconds: float
    result: dict | None              # JSON object the child wrote on the result channel, if any
    result_error: str | None = None  # why bytes on the result channel gave no `result`
    isolation: Kind = "none"         # the containment it ran under


def rlimits(limits: SandboxLimits, *, tasks_now: int = 0) -> list[tuple[str, int, int]]:
    """(resource name, soft, hard) triples the launcher applies.

    RLIMIT_NPROC counts every task of the user, so it is `tasks_now` (the user's tasks before the
    launch) plus the allowance. The kernel does not apply it to root: see tools/isolation.py.
    """
    cpu = limits.effective_cpu_seconds
    tasks = tasks_now + limits.max_processes
    return [
        ("RLIMIT_AS", limits.memory_mb * _MIB, limits.memory_mb * _MIB),
        # Soft limit sends SIGXCPU; the hard one a second later is a SIGKILL backstop.
        ("RLIMIT_CPU", cpu, cpu + 1),
        ("RLIMIT_FSIZE", limits.max_file_mb * _MIB, limits.max_file_mb * _MIB),
        ("RLIMIT_NOFILE", limits.max_open_files, limits.max_open_files),
        ("RLIMIT_NPROC", tasks, tasks),
        ("RLIMIT_CORE", 0, 0),  # a segfault must not litter the scratch dir with a core file
    ]


def build_command(argv: Sequence[str], limits: SandboxLimits, *,
                  isolation: Isolation | None = None, cwd: Path | None = None,
                  read_only: Sequence[Path] = ()) -> list[str]:
    """The argv actually executed: the launcher (rlimits, user) in the isolation's jail.

    Without an isolation this is the launcher alone; in a jail, `cwd` is its one writable folder
    and `read_only` what else the command must see.
    """
    isolation = isolation or Isolation("none", "no isolation asked for")
    user = isolation.user
    limits_now = rlimits(limits, tasks_now=count_tasks(user[0] if user else os.geteuid()))
    if isolation.jailed and cwd is None:
        raise ValueError("a jailed command needs its scratch folder (cwd)")
    return command(isolation, argv, scratch=Path(cwd or "."), read_only=read_only,
                   rlimits=limits_now)


def count_tasks(uid: int) -> int:
    """Tasks (threads included) whose real uid is `uid`, as RLIMIT_NPROC counts them."""
    if not os.path.isdir("/proc"):
        return 0  # no procfs (not Linux): the allowance alone
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", encoding="ascii", errors="replace") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue  # it ended while we looked
        uid_field, threads = fields.get("Uid", ""), fields.get("Threads", "1")
        if uid_field.split()[:1] == [str(uid)]:
            total += int(threads.strip() or 1)
    return total


def clean_env(cwd: Path, extra: dict[str, str] | None) -> dict[str, str]:
    """A fresh environment: nothing of the parent's (no API keys) except what is listed here."""
    env = {
        # The running interpreter's folder first, so `python` in the child is this venv's.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(cwd),
        "TMPDIR": str(cwd),
        # A name for getpass.getuser() (compiler caches name their folders with it): under root
        # the jail's user id has no entry in /etc/passwd.
        "USER": JAIL_USER_NAME,
        "LOGNAME": JAIL_USER_NAME,
    }
    env.update(extra or {})
    return env


def run_sandboxed(argv: list[str], *, cwd: Path, limits: SandboxLimits,
                  env: dict[str, str] | None = None, read_only: Sequence[Path] = (),
                  private: Sequence[Path] = (), isolation: Isolation | None = None) -> SandboxOutcome:
    """Run argv under `limits` in cwd and wait for it; raises only for the caller's own mistakes
    (empty argv, missing cwd) or OS failures, never for what the child does.

    cwd is the scratch folder: the only place a jailed command may write (it is handed to the
    `nobody` user when adrs runs as root). `read_only` are the other paths the command needs
    (its script, its data); `private` are those its own children must not see: a jailed command
    gets $ADRS_CANDIDATE_PREFIX, a nested jail hiding them, to put in front of their argv.
    `isolation` defaults to the machine's (tools/isolation.py).
    """
    if not argv:
        raise ValueError("run_sandboxed needs a non-empty argv")
    cwd = Path(cwd).resolve()
    if not cwd.is_dir():
        raise ValueError(f"sandbox cwd is not a directory: {cwd}")
    isolation = isolation or current()
    extra = dict(env or {})
    if isolation.jailed:
        if isolation.user is not None:
            os.chown(cwd, *isolation.user)
        if isolation.nested and private:
            extra[CANDIDATE_PREFIX_ENV] = json.dumps(candidate_prefix(
                isolation, scratch=cwd, hidden=list(private), read_only=read_only))
    command = build_command(argv, limits, isolation=isolation, cwd=cwd, read_only=read_only)
    read_fd, write_fd = os.pipe()
    reader = _ChannelReader(read_fd, MAX_RESULT_BYTES)
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            child_env = clean_env(cwd, extra)
            child_env[RESULT_FD_ENV] = str(write_fd)
            start = time.monotonic()
            try:
                proc = subprocess.Popen(
                    command, cwd=cwd, env=child_env, stdin=subprocess.DEVNULL,
                    stdout=out, stderr=err, pass_fds=(write_fd,), start_new_session=True)
            finally:
                os.close(write_fd)  # the parent keeps no writer, so EOF comes when the child is gone
            reader.start()
            exited = _wait_for_exit(proc.pid, limits.timeout_seconds)
            if not exited and isolation.kind == "landlock":
                # Its supervisor kills the command and sweeps what it left, then exits.
                proc.terminate()
                _wait_for_exit(proc.pid, SWEEP_SECONDS)
            # The leader is still an unreaped zombie here, so its pgid cannot have been reused.
            _kill_group(proc.pid)
            returncode = proc.wait()
            duration = time.monotonic() - start
            reader.finish()
            stdout_tail = _tail(out, limits.max_output_bytes)
            stderr_tail = _tail(err, limits.max_output_bytes)
    finally:
        if reader.is_alive():  # only when something above raised: do not leave it polling
            reader.finish()
        os.close(read_fd)
    result, result_error = _decode_result(reader.data, reader.overflowed)
    if not exited:
        status, code, sig = "timeout", None, "SIGKILL"
    elif returncode < 0:
        status, code, sig = "signalled", None, _signal_name(-returncode)
    elif isolation.jailed and _JAILED_SIGNAL_CODES.start <= returncode < _JAILED_SIGNAL_CODES.stop:
        # A jail's proxy (bwrap, or the launcher) reports a command killed by signal N as 128 + N.
        status, code, sig = "signalled", None, _signal_name(returncode - 128)
    else:
        status, code, sig = "exited", returncode, None
    return SandboxOutcome(status=status, returncode=code, signal_name=sig,
                          stdout_tail=stdout_tail, stderr_tail=stderr_tail,
                          duration_seconds=duration, result=result, result_error=result_error,
                          isolation=isolation.kind)


def _wait_for_exit(pid: int, timeout: float) -> bool:
    """True once the child has exited (left as a zombie, not reaped), False at the timeout."""
    if hasattr(os, "pidfd_open"):
        pidfd = os.pidfd_open(pid)
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            return bool(poller.poll(math.ceil(timeout * 1000)))
        finally:
            os.close(pidfd)
    # Without pidfds (old kernels, other systems): poll without reaping.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is not None:
            return True
        time.sleep(_POLL_MS / 1000)
    return False


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # expected: the group is already empty


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _tail(stream: IO[bytes], limit: int) -> str:
    size = stream.seek(0, os.SEEK_END)
    stream.seek(max(0, size - limit))
    return stream.read(limit).decode("utf-8", errors="replace")


def _decode_result(data: bytes, overflowed: bool) -> tuple[dict | None, str | None]:
    if overflowed:
        return None, f"result larger than {MAX_RESULT_BYTES // _MIB} MiB was discarded"
    if not data.strip():
        return None, None
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"result is not valid JSON: {exc}"
    if not isinstance(value, dict):
        return None, f"result is a JSON {type(value).__name__}, not an object"
    return value, None


class _ChannelReader(threading.Thread):
    """Drains the result pipe while the child runs, so a big result never blocks the child.

    Stops at EOF, or once told to finish and nothing more is ready (a writer that escaped the
    process group must not keep it alive). Bytes past the limit are read and dropped.
    """

    def __init__(self, fd: int, limit: int) -> None:
        super().__init__(name="sandbox-result-reader", daemon=True)
        self._fd = fd
        self._limit = limit
        self._stop_asked = threading.Event()
        self._buffer = bytearray()
        self._error: BaseException | None = None
        self.overflowed = False

    @property
    def data(self) -> bytes:
        return bytes(self._buffer)

    def run(self) -> None:
        try:
            poller = select.poll()
            poller.register(self._fd, select.POLLIN)
            while True:
                # The flag is read before polling: a poll that came back empty may be stale by
                # the time its thread runs again (under load, after the child wrote and the
                # caller said finish); only a poll begun after finish proves nothing is left.
                stopping = self._stop_asked.is_set()
                if not poller.poll(0 if stopping else _POLL_MS):
                    if stopping:
                        return
                    continue
                chunk = os.read(self._fd, 1 << 16)
                if not chunk:
                    return
                if len(self._buffer) + len(chunk) > self._limit:
                    self.overflowed = True
                    self._buffer.clear()
                elif not self.overflowed:
                    self._buffer.extend(chunk)
        except BaseException as exc:  # handed to finish(), which re-raises it in the caller
            self._error = exc

    def finish(self) -> None:
        self._stop_asked.set()
        self.join()
        if self._error is not None:
            raise RuntimeError(f"reading the result channel failed: {self._error}") from self._error
