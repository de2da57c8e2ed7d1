"""A warm worker: import the problem's evaluator once, then run each evaluation in a fresh fork.

Standalone on purpose (stdlib only; its siblings _worker.py and _launch.py are loaded by path), run
inside the jail by tools/workers.py:

    python -s -P _serve.py <evaluator.py> <setup JSON>   (the control socket's fd in $ADRS_CONTROL_FD)

setup: {"problem_root": the problem folder, "workdir": the evaluator's folder relative to it,
"options": the cascade's options (_worker.call)}. The scratch folder holds a writable mirror of
the problem folder (tools/workdir.py); the evaluator is imported, and each evaluation runs, in the
mirror of its own folder, so files it reads or writes relative to its folder are where it expects.
setup's "also_empty" lists the jail's other writable folders (its /dev/shm): emptied with it.

Per request (a JSON frame with three descriptors: stdout, stderr, result pipe) the worker writes
the program into its scratch folder (its cwd, seen by nobody else) and forks. The child starts its
own session, takes the descriptors, the environment and the resource limits of the request (and a
Landlock layer, where that is the jail), calls the evaluator through _worker.call and reports on
the result pipe, as a cold `_worker.py` would. The worker waits for it up to the timeout, then
kills whatever is left of it (it is a subreaper: `setsid` and double-forked children come back to
it), empties the scratch folder, and answers with how the child ended. One request at a time.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import select
import shutil
import signal
import socket
import stat
import struct
import sys
import time

CONTROL_FD_ENV = "ADRS_CONTROL_FD"
HERE = os.path.dirname(os.path.abspath(__file__))
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 4, 36
HEADER = struct.Struct("!I")
MAX_FRAME = 64 << 20
FDS_PER_REQUEST = 3


def send_message(sock: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    """One length-prefixed JSON frame; descriptors ride on its first bytes."""
    data = json.dumps(message).encode("utf-8")
    header = HEADER.pack(len(data))
    if fds:
        socket.send_fds(sock, [header], fds)
    else:
        sock.sendall(header)
    sock.sendall(data)


def recv_message(sock: socket.socket, max_fds: int = 0) -> tuple[dict, list[int]]:
    """The next frame and the descriptors sent with it; EOFError when the peer is gone."""
    if max_fds:
        header, fds, _flags, _addr = socket.recv_fds(sock, HEADER.size, max_fds)
    else:
        header, fds = sock.recv(HEADER.size), []
    header += _recv_exactly(sock, HEADER.size - len(header)) if header else b""
    if not header:
        raise EOFError("the peer closed the connection")
    (size,) = HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes is too large")
    return json.loads(_recv_exactly(sock, size)), list(fds)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("the peer closed the connection mid-frame")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def main(argv: list[str]) -> int:
    control = socket.socket(fileno=int(os.environ.pop(CONTROL_FD_ENV)))
    sys.dont_write_bytecode = True
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # orphans of an evaluation come back here
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no evaluation may ptrace or read this process
    spec = importlib.util.spec_from_file_location("_launch", os.path.join(HERE, "_launch.py"))
    _launch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(_launch)
    _worker = _launch.sibling("_worker")
    workdir_files = _launch.sibling("workdir")
    setup = json.loads(argv[2]) if len(argv) > 2 else {}
    scratch = os.getcwd()
    workdir = os.path.join(scratch, setup.get("workdir") or ".")
    options = setup.get("options") or {}

    def reset() -> None:
        """The scratch folder as an evaluation must find it: the problem's mirror only (made in
        here, so the jail's user owns every folder of it and can empty it)."""
        for folder in [scratch, *setup.get("also_empty", [])]:
            _empty(folder)
        if setup.get("problem_root"):
            workdir_files.mirror(setup["problem_root"], scratch)

    reset()
    os.chdir(workdir)  # relative paths at import time resolve in the evaluator's own folder
    try:
        module, failure = _worker._load_evaluator(argv[1]), None
    except BaseException as exc:  # reported with every request, as a cold worker would
        module, failure = None, _worker.import_failure(argv[1], exc)
    os.chdir(scratch)

    def evaluate(function_name: str, program_path: str, kwargs: dict) -> dict:
        if failure is not None:
            return failure
        os.chdir(workdir)  # in the evaluation's own process: the worker stays in `scratch`
        return _worker.call(module, function_name, program_path, kwargs, options)

    send_message(control, {"ready": os.getpid()})
    while True:
        try:
            request, fds = recv_message(control, FDS_PER_REQUEST)
        except EOFError:
            return 0
        for fd in fds:
            os.set_inheritable(fd, False)  # what the evaluation execs gets none of them
        send_message(control, serve(request, fds, control, scratch, evaluate, reset, _worker,
                                    _launch))


def serve(request: dict, fds: list[int], control: socket.socket, scratch: str, evaluate, reset,
          worker, launch) -> dict:
    """Run one evaluation in a fork; how it ended, once nothing of it is left."""
    program = os.path.join(scratch, request["program_name"])
    os.makedirs(os.path.dirname(program), exist_ok=True)
    if os.path.lexists(program):
        os.unlink(program)  # a mirrored link: writing through it would change the problem
    with open(program, "w", encoding="utf-8", errors="surrogatepass") as handle:
        handle.write(request["source"])
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(request, fds, control, program, evaluate, worker, launch)
    for fd in fds:
        os.close(fd)
    finished = _wait(pid, request["timeout"])
    if not finished:
        for kill in (os.killpg, os.kill):  # its group, and itself should it have none yet
            try:
                kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    _, status = os.waitpid(pid, 0)
    duration = time.monotonic() - started
    killed, alive = launch.kill_descendants()
    reset()
    reply = {"duration": duration, "killed_after": killed, "alive_after": alive}
    if not finished:
        return {**reply, "status": "timeout"}
    if os.WIFSIGNALED(status):
        return {**reply, "status": "signalled", "signal": os.WTERMSIG(status)}
    return {**reply, "status": "exited", "returncode": os.WEXITSTATUS(status)}


def _child(request: dict, fds: list[int], control: socket.socket, program: str, evaluate,
           worker, launch) -> None:
    """The evaluation's own process; never returns."""
    code = 70
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # dies with its worker
        os.setsid()
        out, err, result = fds
        os.dup2(out, 1)
        os.dup2(err, 2)
        control.close()
        os.environ.update(request["env"])
        launch.apply_rlimits(request["rlimits"])
        if request.get("landlock"):
            launch.sibling("landlock").restrict(**request["landlock"])
        payload = evaluate(request["function"], program, request["kwargs"])
        worker._send(result, payload)
        code = 0 if payload["ok"] else 1
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    except BaseException as exc:  # the evaluation's own failure: its stderr says what it was
        try:
            os.write(2, f"_serve.py: {type(exc).__name__}: {exc}\n".encode())
        except OSError:
            pass
    os._exit(code)


def _wait(pid: int, timeout: float) -> bool:
    """True once the child has exited (not reaped), False at the timeout."""
    if not hasattr(os, "pidfd_open"):  # old kernels and Pythons: poll without reaping
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
            time.sleep(0.001)
        return False
    pidfd = os.pidfd_open(pid)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(max(1, int(timeout * 1000))))
    finally:
        os.close(pidfd)


def _empty(folder: str) -> None:
    """Remove everything in the scratch folder, even what the evaluation made unreadable."""
    for entry in os.scandir(folder):
        path = entry.path
        if entry.is_dir(follow_symlinks=False):
            os.chmod(path, stat.S_IRWXU)
            for root, dirs, _files in os.walk(path):  # top-down: fix a folder before entering it
                for name in dirs:
                    inner = os.path.join(root, name)
                    if not os.path.islink(inner):
                        os.chmod(inner, stat.S_IRWXU)
            shutil.rmtree(path)
        else:
            os.unlink(path)


if __name__ == "__main__":
    code = main(sys.argv)
    os._exit(code)
