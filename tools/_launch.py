"""Start one command contained: the first program of every sandboxed run and of every nested jail.

Standalone on purpose (stdlib only, imports nothing from adrs; its siblings namespaces.py and
landlock.py are loaded by path), so it runs before any jail exists and inside one:

    python -I -S _launch.py <config JSON> <command> [args...]

A launcher instead of subprocess's preexec_fn, because preexec_fn may deadlock when the parent has
threads. The config's keys, each optional, applied in this order:
    cgroup      a cgroup folder to join first (its limits then hold every process started here)
    namespaces  {"enter": view} or {"hide": spec}: a namespace jail (see namespaces.py); this
                process stays outside as a proxy and the rest runs as PID 1 inside
    supervise   no PID namespace: stay outside as a subreaper that kills every descendant left
                once the command exits (a `setsid` or double-forked child included)
    rlimits     [[name, soft, hard], ...], lowered to the hard limits already in force
    user        [uid, gid] to drop to (when started as root)
    drop_caps   empty every capability set, so no exec'd program regains one
    landlock    {"read": [...], "write": [...]}: file-system and network rules (landlock.py)
    unset       environment variables to remove
Always: no_new_privs, and death with the process that started it.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import resource
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 36, 38
_libc = ctypes.CDLL(None, use_errno=True)


def main(argv: list[str]) -> None:
    config = json.loads(argv[1])
    command = argv[2:]
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if config.get("cgroup"):
        with open(os.path.join(config["cgroup"], "cgroup.procs"), "w") as procs:
            procs.write("0")
    namespaces = config.get("namespaces")
    if namespaces or config.get("drop_caps"):
        jail = sibling("namespaces")
    if namespaces:
        if "enter" in namespaces:
            jail.enter(namespaces["enter"])
        else:
            jail.hide(namespaces["hide"])
    elif config.get("supervise"):
        supervise()
    apply_rlimits(config.get("rlimits", []))
    if config.get("drop_caps"):
        jail.drop_bounding_set()
    if config.get("user") is not None:
        uid, gid = config["user"]
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        if os.getuid() != uid or os.geteuid() != uid:
            fail(f"could not drop to uid {uid}", 126)
    if config.get("drop_caps"):
        jail.clear_capabilities()
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        fail("cannot set no_new_privs", 126)
    if config.get("landlock"):
        sibling("landlock").restrict(read=config["landlock"]["read"],
                                     write=config["landlock"]["write"])
    for name in config.get("unset", []):
        os.environ.pop(name, None)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # a change of user cleared it
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        fail(f"cannot run {command[0]!r}: {exc}", 127)


def apply_rlimits(limits: list) -> None:
    """Set each (name, soft, hard) limit, capped at the hard ceiling this process already has
    (raising it would fail without privileges)."""
    for name, soft, hard in limits:
        kind = getattr(resource, name)
        ceiling = resource.getrlimit(kind)[1]
        if ceiling != resource.RLIM_INFINITY:
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        resource.setrlimit(kind, (soft, hard))


def sibling(name: str):
    """A module of this folder, loaded from its file: under Landlock the folder itself may not be
    listable (only the files are allowed), which the import system's path finder needs."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def supervise() -> None:
    """Fork; the child returns and runs the command, this process never returns: it waits for the
    child, kills every descendant left (they were reparented to it), and exits with its status."""
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    pid = os.fork()
    if pid == 0:
        return
    # Asked to stop (the sandbox's timeout): kill the command, then sweep as when it exits.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda _number, _frame: os.kill(pid, signal.SIGKILL))
    _, status = os.waitpid(pid, 0)
    kill_descendants()
    code = os.waitstatus_to_exitcode(status)
    os._exit(128 - code if code < 0 else code)


def kill_descendants(deadline_seconds: float = 5.0) -> tuple[int, int]:
    """SIGKILL every live descendant of this process (a subreaper: orphans below it come back to
    it) and reap them; (how many were killed, how many are still alive at the deadline)."""
    me, killed = os.getpid(), set()
    deadline = time.monotonic() + deadline_seconds
    while True:
        live = descendants(me)
        for pid in live:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        killed.update(live)
        _reap()
        if not live or time.monotonic() > deadline:
            return len(killed), len(live)
        time.sleep(0.001)


def descendants(root: int) -> list[int]:
    """Live (not zombie) processes below `root`: through /proc/<pid>/task/<tid>/children where
    the kernel has them (a few reads), else from the parent of every process in /proc."""
    if not os.path.exists(f"/proc/{root}/task/{root}/children"):
        return _descendants_by_scan(root)
    found: set[int] = set()
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children", "rb") as handle:
                    children = {int(child) for child in handle.read().split()} - found
                found |= children
                frontier += children
        except OSError:
            continue  # it ended while we looked; its children came back to a subreaper
    return sorted(pid for pid in found if not _is_zombie(pid))


def _descendants_by_scan(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                parents[int(name)] = int(handle.read().rsplit(b")", 1)[1].split()[1])
        except OSError:
            continue  # it ended while we looked
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return sorted(pid for pid in found if not _is_zombie(pid))


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except OSError:
        return True  # gone already


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def fail(message: str, code: int) -> None:
    sys.stderr.write(f"sandbox: {message}\n")
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main(sys.argv)
