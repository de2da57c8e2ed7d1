"""The child-process harness of a problem evaluator: run the untrusted candidate in a child process,
behind the nested jail adrs offers, speak to it over pipes under one deadline, and time it fairly.

Every problem folder holds a byte-identical copy (tests/problems/test_harness.py compares them), so
a folder still stands alone: its evaluator.py loads this file by path. Standard library only; see
docs/problem-contract.md for how a new problem uses it.

    candidate_command(argv)        argv behind the jail of $ADRS_CANDIDATE_PREFIX (if any)
    python_argv(driver, *args)     the interpreter flags of every child
    Child                          a child process spoken to in lines, with one deadline
    Session, SERVER_DRIVER         a child that imports a program once and calls one of its functions
    solve(...)                     every input's answer and call time, beside a trusted reference
    failure(error), select_workloads(requested, valid), type_name(value), short(value)
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

STDERR_TAIL_CHARS = 2000       # characters of the child's stderr kept for error messages
MAX_LINE_BYTES = 64 << 20      # a longer reply line is refused instead of filling memory
POLL_SECONDS = 0.2             # how often a silent child is checked for having exited
PIPE_BYTES = 1 << 20           # pipe capacity asked for (Linux's default cap for a user)
PING_REPEATS = 7               # round trips measured to calibrate the timed calls
WARMUP_KEY = "__warmup__"


class CandidateFailure(RuntimeError):
    """The child crashed, timed out or broke the protocol. The message is one line; the tail of
    the child's stderr rides along for the artifacts."""

    def __init__(self, message: str, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail


# --------------------------------------------------------------------------- starting a child

def candidate_command(argv: list[str]) -> list[str]:
    """argv behind the jail adrs's sandbox offers in $ADRS_CANDIDATE_PREFIX (a JSON argv) so the
    candidate cannot read this folder; unchanged when the variable is unset (standalone runs)."""
    prefix = json.loads(os.environ.get("ADRS_CANDIDATE_PREFIX") or "[]")
    return [str(part) for part in prefix] + argv


def python_argv(driver: str, *args: Any) -> list[str]:
    """A Python child running the code `driver` with `args` in sys.argv[1:].

    -B: no bytecode is written next to the program (else a same-size rewrite within one second
    runs the stale .pyc). -s -P: neither user site-packages nor the working folder joins sys.path.
    Not -I, which would also ignore the PYTHONHASHSEED of child_env() and let set order vary.
    """
    return [sys.executable, "-B", "-s", "-P", "-c", driver, *(str(arg) for arg in args)]


def child_env() -> dict[str, str]:
    """A clean environment (nothing of the evaluator's leaks in) with a fixed hash seed and
    numeric libraries held to one thread, so answers and timings repeat."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    if "TMPDIR" in os.environ:  # in the jail, the only writable temporary folder
        env["TMPDIR"] = os.environ["TMPDIR"]
    return env


class Child:
    """A child process spoken to in lines over pipes. One wall-clock deadline covers its whole
    life; its stderr is drained as it comes and only the tail is kept. `trusted` children (the
    evaluator's own reference code) start outside the candidate's jail."""

    def __init__(self, argv: list[str], timeout_seconds: float, *, trusted: bool = False) -> None:
        self.timeout_seconds = timeout_seconds
        self._deadline = time.monotonic() + timeout_seconds
        self._proc = subprocess.Popen(argv if trusted else candidate_command(argv),
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, env=child_env(),
                                      start_new_session=True)
        assert self._proc.stdin and self._proc.stdout and self._proc.stderr
        self._in = self._proc.stdin.fileno()
        self._out = self._proc.stdout.fileno()
        self._err: int | None = self._proc.stderr.fileno()
        for fd in (self._in, self._out, self._err):
            os.set_blocking(fd, False)
            try:  # larger pipes: a chatty child costs fewer wake-ups (Linux only; best effort)
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            except (AttributeError, OSError):
                pass
        self._received = bytearray()
        self._stderr = bytearray()

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._wait(write=True):
                try:
                    view = view[os.write(self._in, view):]
                except BlockingIOError:
                    continue
                except BrokenPipeError:
                    raise self._crashed() from None

    def receive(self) -> bytes:
        """The next line the child wrote on its stdout, without the newline."""
        while (end := self._received.find(b"\n")) < 0:
            if len(self._received) > MAX_LINE_BYTES:
                raise CandidateFailure(f"sent a line longer than {MAX_LINE_BYTES >> 20} MB",
                                       self.stderr_tail())
            self._wait(write=False)
        line = bytes(self._received[:end])
        del self._received[:end + 1]
        return line

    def exchange(self, line: bytes) -> bytes:
        self.send(line)
        return self.receive()

    def stderr_tail(self) -> str:
        return self._stderr.decode("utf-8", "replace")[-STDERR_TAIL_CHARS:]

    def close(self) -> None:
        """Kill the child and everything it started in its session."""
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # already gone with its group
        self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()

    def _wait(self, *, write: bool) -> bool:
        """Wait until the child sent something (kept) or, if `write`, takes more input (True).
        Raises at the deadline, and when its stdout closes or it exits while silent."""
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise CandidateFailure(f"timed out after {self.timeout_seconds:g} s",
                                   self.stderr_tail())
        readers = [self._out] + ([self._err] if self._err is not None else [])
        ready, writable, _ = select.select(readers, [self._in] if write else [], [],
                                           min(left, POLL_SECONDS))
        if self._err in ready:
            self._read_stderr()
        if self._out in ready:
            chunk = os.read(self._out, 1 << 20)
            if not chunk:
                raise self._crashed()
            self._received += chunk
        elif not writable and self._proc.poll() is not None:
            raise self._crashed()  # gone, though something it started holds its stdout open
        return bool(writable)

    def _read_stderr(self) -> None:
        assert self._err is not None
        try:
            chunk = os.read(self._err, 1 << 20)
        except BlockingIOError:
            return
        if not chunk:
            self._err = None
            return
        self._stderr += chunk
        del self._stderr[:-4 * STDERR_TAIL_CHARS]  # bytes: room for multi-byte characters

    def _crashed(self) -> CandidateFailure:
        try:
            code: int | None = self._proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            code = None
        until = time.monotonic() + 0.5  # what it wrote last, unless a survivor holds stderr open
        while self._err is not None and time.monotonic() < until:
            if select.select([self._err], [], [], max(0.0, until - time.monotonic()))[0]:
                self._read_stderr()
        tail = self.stderr_tail()
        lines = [line.strip() for line in tail.splitlines() if line.strip()]
        last = lines[-1][-300:] if lines else "no output"
        if code is None:
            return CandidateFailure(f"closed its answer channel and kept running: {last}", tail)
        return CandidateFailure(f"crashed (exit code {code}): {last}", tail)


# --------------------------------------------------------------------------- the server child

# Runs as `python -B -s -P -c SERVER_DRIVER <program> <function>`. Replies go to a copy of the
# original stdout taken before the program is imported; fd 1 then points at stderr, so the
# program's prints cannot corrupt replies, and json is bound before a program could patch it.
SERVER_DRIVER = r'''
import importlib.util, json, os, sys, traceback
dumps, loads = json.dumps, json.loads
replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr


def send(message):
    replies.write(dumps(message) + "\n")
    replies.flush()


def reason(exc):
    lines = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()
    return (lines[-1] if lines else type(exc).__name__)[:500]


SCALARS = {type(None), bool, int, float, str}


def exact(value):
    """JSON types kept as they are; anything else becomes a tag naming its type."""
    kind = type(value)
    if kind in SCALARS:
        return value
    if kind is list:
        if set(map(type, value)) <= SCALARS:
            return value  # the common case, checked at C speed
        return [exact(item) for item in value]
    if kind is dict and all(type(key) is str for key in value):
        return {key: exact(item) for key, item in value.items()}
    name = kind.__qualname__
    return {"__type__": name if kind.__module__ == "builtins" else kind.__module__ + "." + name}


def plain(value):
    """Arrays (anything with tolist()) and tuples as lists; the rest as it is."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def tuples(value, depth):
    """The lists `depth` levels down in `value` as tuples (JSON has no tuples)."""
    if depth == 0:
        return tuple(value)
    return [tuples(item, depth - 1) for item in value]


try:
    spec = importlib.util.spec_from_file_location("candidate", sys.argv[1])
    program = importlib.util.module_from_spec(spec)
    sys.modules["candidate"] = program  # dataclasses and pickle look a module up by name
    spec.loader.exec_module(program)
    entry = getattr(program, sys.argv[2])
except BaseException as exc:
    send({"error": "import failed: " + reason(exc)})
    raise SystemExit(0)
send({"ok": True})
tasks, results = {}, {}
for line in requests:
    request = loads(line)
    op = request["op"]
    if op == "ping":
        send({"ok": True})
    elif op == "load":
        arrays, depths = request["arrays"], request["tuples"]
        if arrays:
            import numpy
        for key, args in request["tasks"].items():
            for index in arrays:
                args[index] = numpy.asarray(args[index], dtype=numpy.float64)
            for index, depth in depths.items():
                args[int(index)] = tuples(args[int(index)], depth)
            tasks[key] = args
        send({"ok": True})
    elif op == "run":
        try:
            results[request["key"]] = entry(*tasks.pop(request["key"]))
        except BaseException as exc:
            send({"error": reason(exc)})
            continue
        send({"ok": True})
    elif op == "fetch":
        try:
            result = results.pop(request["key"])
            send({"ok": True, "result": exact(result) if request["exact"] else plain(result)})
        except BaseException as exc:
            send({"error": "the answer cannot be sent as JSON: " + reason(exc)})
'''


class Session:
    """A child serving one program: it imports the program once, then calls the program's
    function `entry` on inputs loaded by key. All requests share the child's one deadline."""

    def __init__(self, program_path: str, entry: str, timeout_seconds: float, *,
                 trusted: bool = False) -> None:
        self.child = Child(python_argv(SERVER_DRIVER, program_path, entry), timeout_seconds,
                           trusted=trusted)
        try:
            self._reply()
        except BaseException:
            self.child.close()
            raise

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        self.child.send(json.dumps(message).encode() + b"\n")
        return self._reply()

    def timed_request(self, message: dict[str, Any]) -> float:
        """Wall seconds from sending the request to reading the reply."""
        started = time.perf_counter()
        self.request(message)
        return time.perf_counter() - started

    def _reply(self) -> dict[str, Any]:
        line = self.child.receive()
        try:
            reply = json.loads(line)
        except ValueError:
            raise CandidateFailure("sent an unreadable reply", self.child.stderr_tail()) from None
        if isinstance(reply, dict) and isinstance(reply.get("error"), str):
            raise CandidateFailure(reply["error"], self.child.stderr_tail())
        if not isinstance(reply, dict) or reply.get("ok") is not True:
            raise CandidateFailure("sent a malformed reply", self.child.stderr_tail())
        return reply

    def close(self) -> None:
        self.child.close()


@dataclass(frozen=True)
class Measured:
    """One input: the candidate's answer and the seconds its call took (round trip removed), and
    the same for the trusted reference when there is one."""

    answer: Any
    seconds: float
    reference_answer: Any = None
    reference_seconds: float | None = None


class _Server:
    """A session with the inputs loaded, warmed up on an unscored input, round trip calibrated."""

    def __init__(self, program_path: str, entry: str, tasks: dict[str, list],
                 timeout_seconds: float, *, trusted: bool, warmup: list | None,
                 arrays: tuple[int, ...], tuples: dict[int, int], exact: bool) -> None:
        self.exact = exact
        self.session = Session(program_path, entry, timeout_seconds, trusted=trusted)
        try:
            extra = {} if warmup is None else {WARMUP_KEY: warmup}
            self.session.request({"op": "load", "tasks": {**tasks, **extra},
                                  "arrays": list(arrays), "tuples": tuples})
            self.round_trip = 0.0
            if warmup is not None:
                try:
                    self.call(WARMUP_KEY)
                except CandidateFailure as exc:
                    raise CandidateFailure(f"warm-up input: {exc}", exc.stderr_tail) from None
            self.round_trip = statistics.median(self.session.timed_request({"op": "ping"})
                                                for _ in range(PING_REPEATS))
        except BaseException:
            self.session.close()
            raise

    def call(self, key: str) -> tuple[Any, float]:
        elapsed = self.session.timed_request({"op": "run", "key": key})
        reply = self.session.request({"op": "fetch", "key": key, "exact": self.exact})
        if "result" not in reply:
            raise CandidateFailure("sent a malformed reply", self.session.child.stderr_tail())
        return reply["result"], max(elapsed - self.round_trip, 0.0)


def solve(program_path: str, entry: str, tasks: dict[str, list], timeout_seconds: float, *,
          reference: tuple[str, str] | None = None, warmup: list | None = None,
          arrays: tuple[int, ...] = (), tuples: dict[int, int] | None = None,
          exact: bool = False) -> dict[str, Measured]:
    """Call the program's function `entry` once on every input (positional arguments by key).

    exact: answers keep their JSON types and anything else comes back as {"__type__": name}
    (see type_name); otherwise arrays and tuples come back as lists. arrays: argument positions
    the child turns into numpy float64 arrays; tuples: {argument position: depth}, the lists that
    many levels down in that argument become tuples (0: the argument itself). warmup: an unscored input solved first, so imports
    and caches warm up outside the timed calls. reference: (path, function) of trusted code served
    the same way outside the jail and timed right before or after the candidate on each input,
    alternating who goes first. A CandidateFailure names the input at fault; a failure of the
    reference is a RuntimeError (the evaluator's fault, not the candidate's).
    """
    options = {"warmup": warmup, "arrays": arrays, "tuples": dict(tuples or {}), "exact": exact}
    candidate = _Server(program_path, entry, tasks, timeout_seconds, trusted=False, **options)
    trusted = None
    try:
        if reference is not None:
            try:
                trusted = _Server(*reference, tasks, timeout_seconds, trusted=True, **options)
            except CandidateFailure as exc:
                raise RuntimeError(f"the trusted reference failed: {exc}") from None
        measured = {}
        for index, key in enumerate(tasks):
            if trusted is not None and index % 2:
                reference_answer, reference_seconds = _reference_call(trusted, key)
            try:
                answer, seconds = candidate.call(key)
            except CandidateFailure as exc:
                raise CandidateFailure(f"workload {key}: {exc}", exc.stderr_tail) from None
            if trusted is None:
                measured[key] = Measured(answer, seconds)
                continue
            if not index % 2:
                reference_answer, reference_seconds = _reference_call(trusted, key)
            measured[key] = Measured(answer, seconds, reference_answer, reference_seconds)
        return measured
    finally:
        candidate.session.close()
        if trusted is not None:
            trusted.session.close()


def _reference_call(reference: _Server, key: str) -> tuple[Any, float]:
    try:
        return reference.call(key)
    except CandidateFailure as exc:
        raise RuntimeError(f"the trusted reference failed on {key}: {exc}") from None


# --------------------------------------------------------------------------- results and checks

def failure(error: str, *, stderr_tail: str = "", timings: dict[str, float] | None = None
            ) -> dict[str, Any]:
    """The result of an evaluation that scores nothing: combined_score 0 and the one-line reason."""
    result: dict[str, Any] = {"combined_score": 0.0, "error": error}
    if stderr_tail:
        result["artifacts"] = {"stderr": stderr_tail}
    if timings:
        result["timings"] = timings
    return result


def select_workloads(requested: Any, valid: list[str]) -> list[str]:
    """The names evaluate(workloads=...) asked for (a bare string is one name), in the order of
    `valid` so the caller's order changes nothing; ValueError (one line) for unknown names or none."""
    if requested is None:
        return list(valid)
    names = [requested] if isinstance(requested, str) else requested
    if not isinstance(names, (list, tuple)):
        raise ValueError(f"workloads must be a list of names, got {type(names).__name__}; "
                         f"valid: {', '.join(valid)}")
    unknown = [str(name) for name in names if name not in valid]
    if unknown:
        raise ValueError(f"unknown workload(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    if not names:
        raise ValueError(f"no workloads selected; valid: {', '.join(valid)}")
    return [name for name in valid if name in names]


def type_name(value: Any) -> str:
    """How an error message names a value that came back from an exact fetch."""
    if isinstance(value, dict) and isinstance(value.get("__type__"), str):
        name = value["__type__"]  # the driver's tag: "tuple", "numpy.int64", ...
        return name if "." in name else f"a {name}"
    return {bool: "a bool", float: "a float", int: "an int", str: "a str", dict: "a dict",
            list: "a list", type(None): "None"}.get(type(value), type(value).__name__)


def short(value: Any, limit: int = 80) -> str:
    """repr(value), cut to `limit` characters for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
