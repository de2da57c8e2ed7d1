"""The OS-level jail around sandboxed commands: bubblewrap when it works here, else nothing more.

`current()` decides once per process (and per value of $ADRS_SANDBOX) which containment is in force:

- "bwrap": the command sees a read-only view of only what it needs (system folders, the Python
  installation, the paths the caller names), a fresh /tmp, one writable scratch folder, no network,
  its own PID namespace (so nothing it starts outlives it) and no capabilities. When adrs runs as
  root the command also drops to the `nobody` user, so the kernel enforces the process limit
  (root is exempt from RLIMIT_NPROC) and the file system's permissions apply to it.
- "rlimits": resource limits and a process group only (see tools/sandbox.py), with a warning.

$ADRS_SANDBOX: "auto" (default: bwrap if its probe passes), "bwrap" (required: fail if it does not
work) or "rlimits" (force the fallback, e.g. in tests).

A jailed command may jail its own children further with `candidate_prefix`, handed to it as the
JSON argv in $ADRS_CANDIDATE_PREFIX: evaluators prepend it when they launch the candidate, which
then cannot see the problem folder (evaluator, held-out seeds) nor the evaluator's processes.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

SANDBOX_ENV = "ADRS_SANDBOX"
CANDIDATE_PREFIX_ENV = "ADRS_CANDIDATE_PREFIX"
MODES = ("auto", "bwrap", "rlimits")
NOBODY_ID = 65534
PROBE_TIMEOUT = 20.0
TMP_BYTES = 256 << 20  # a jail's private /tmp lives in memory: keep it small
# Top-level system folders a Python process needs; symlinks (merged /usr) are recreated as links.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# The few files of /etc a Python process reads; the rest of /etc (shadow, keys) stays out of view.
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
             "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf")
# Read by some numeric libraries to count CPUs; harmless.
SYS_FILES = ("/sys/devices/system/cpu",)


class IsolationError(RuntimeError):
    """$ADRS_SANDBOX asks for something this machine cannot do; the message is one line."""


class IsolationWarning(RuntimeWarning):
    """Candidates run with weaker containment than the machine should offer."""


@dataclass(frozen=True)
class Isolation:
    """The containment in force and, in one line, why."""

    kind: Literal["bwrap", "rlimits"]
    reason: str
    bwrap: str | None = None               # absolute path of bwrap when kind == "bwrap"
    user: tuple[int, int] | None = None    # (uid, gid) the jailed command drops to, when root
    nested: bool = False                   # a jailed command can jail its children further

    @property
    def jailed(self) -> bool:
        return self.kind == "bwrap"


_LOCK = threading.Lock()
_DECIDED: dict[str, Isolation] = {}


def requested_mode() -> str:
    mode = os.environ.get(SANDBOX_ENV, "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise IsolationError(f"{SANDBOX_ENV}={mode!r} is not one of {', '.join(MODES)}")
    return mode


def current() -> Isolation:
    """The containment for this process, decided once per mode; warns once when it is weak."""
    mode = requested_mode()
    with _LOCK:
        if mode not in _DECIDED:
            decided = detect(mode)
            if mode == "bwrap" and not decided.jailed:
                raise IsolationError(f"{SANDBOX_ENV}=bwrap but {decided.reason}")
            if not decided.jailed and mode == "auto":
                warnings.warn(f"sandbox: {decided.reason}; candidates run with resource limits "
                              f"and a process group only", IsolationWarning, stacklevel=2)
            elif decided.jailed and not decided.nested:
                warnings.warn(f"sandbox: {decided.reason}", IsolationWarning, stacklevel=2)
            log.info("sandbox: %s (%s)", decided.kind, decided.reason)
            _DECIDED[mode] = decided
        return _DECIDED[mode]


def detect(mode: str = "auto") -> Isolation:
    """Probe the machine (uncached): is bwrap there, and does a real jail work?"""
    if mode == "rlimits":
        return Isolation("rlimits", f"forced by {SANDBOX_ENV}=rlimits")
    found = shutil.which("bwrap")
    if found is None:
        return Isolation("rlimits", "bubblewrap (bwrap) is not installed")
    bwrap = os.path.realpath(found)
    user = drop_target()
    outer = Isolation("bwrap", "bubblewrap jail", bwrap=bwrap, user=user, nested=True)
    problem = probe(outer)
    if problem is not None:
        return Isolation("rlimits", f"bubblewrap does not work here ({problem})")
    if probe(outer, nested=True) is not None:
        return Isolation("bwrap", "bubblewrap jail; candidates are not hidden from their "
                         "evaluator (a nested jail does not work here)",
                         bwrap=bwrap, user=user, nested=False)
    return outer


def drop_target() -> tuple[int, int] | None:
    """(uid, gid) of `nobody` when running as root, else None (we are unprivileged already)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return NOBODY_ID, NOBODY_ID


# The probe runs inside the jail: drop privileges like the sandbox's launcher, then check what the
# jail must guarantee. argv: [uid gid | "-" "-"] [nested prefix JSON | ""]
_PROBE = """\
import json, os, subprocess, sys
if sys.argv[1] != "-":
    os.setgroups([]); os.setgid(int(sys.argv[2])); os.setuid(int(sys.argv[1]))
open("probe.txt", "w").write("ok")
try:
    open("/probe-outside", "w")
    sys.exit("the root file system is writable")
except OSError:
    pass
if sys.argv[3]:
    prefix = json.loads(sys.argv[3])
    done = subprocess.run(prefix + [sys.executable, "-I", "-S", "-c", "print(42)"],
                          capture_output=True, text=True, timeout=15)
    if done.stdout.strip() != "42":
        sys.exit("nested: " + (done.stderr.strip().splitlines() or ["no output"])[-1])
"""


def probe(isolation: Isolation, *, nested: bool = False) -> str | None:
    """Why a jail built this way does not work here (one line), or None when it does."""
    if isolation.bwrap is None:
        raise ValueError("probe needs a bubblewrap isolation")
    with tempfile.TemporaryDirectory(prefix="adrs-probe-") as folder:
        scratch = Path(folder)
        hidden = scratch / "hidden"
        hidden.mkdir()
        if isolation.user is not None:
            for path in (scratch, hidden):
                os.chown(path, *isolation.user)
        prefix = candidate_prefix(isolation, scratch=scratch, hidden=[hidden]) if nested else []
        uid, gid = (str(i) for i in isolation.user) if isolation.user else ("-", "-")
        argv = jail_argv(isolation, scratch=scratch, read_only=[]) + [
            sys.executable, "-I", "-S", "-c", _PROBE, uid, gid,
            json.dumps(prefix) if nested else ""]
        try:
            done = subprocess.run(argv, cwd=scratch, capture_output=True, text=True,
                                  timeout=PROBE_TIMEOUT, stdin=subprocess.DEVNULL,
                                  env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"probe failed: {exc}"
        if done.returncode != 0:
            lines = [line for line in (done.stderr or "").splitlines() if line.strip()]
            return lines[-1].strip() if lines else f"probe exited with code {done.returncode}"
        written = scratch / "probe.txt"
        if not written.is_file() or written.read_text() != "ok":
            return "the scratch folder is not writable"
    return None


def jail_argv(isolation: Isolation, *, scratch: Path, read_only: Sequence[Path]) -> list[str]:
    """The bwrap argv (ending in "--") that runs a command jailed, with `scratch` as cwd."""
    if not isolation.jailed or isolation.bwrap is None:
        raise ValueError("jail_argv needs a bubblewrap isolation")
    scratch = Path(scratch).resolve()
    args = [isolation.bwrap, "--die-with-parent", "--new-session", "--unshare-pid",
            "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if isolation.user is not None:
        # Root: keep only what bwrap needs to enter the scratch folder (owned by `nobody`) and
        # what the launcher needs to become `nobody`; becoming `nobody` clears them all.
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                 "--cap-add", "CAP_DAC_OVERRIDE"]
    else:
        args += ["--cap-drop", "ALL"]
    binds: list[Path] = []
    for name in SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            binds.append(path)
    binds += [Path(p) for p in python_paths()]
    binds += [Path(p).resolve() for p in read_only]
    binds.append(Path(isolation.bwrap))  # a jailed evaluator may jail its candidate
    binds = _outermost(binds)
    optional = [name for name in ETC_FILES + SYS_FILES if os.path.exists(name)]
    mounts = binds + [scratch] + [Path(name) for name in optional]
    args += ["--perms", "1777", "--size", str(TMP_BYTES), "--tmpfs", "/tmp",
             "--proc", "/proc", "--dev", "/dev"]
    for folder in _parents_to_create(mounts):
        # Made by hand so they are 0755 (bwrap copies the source's mode: /root is 0700).
        args += ["--perms", "0755", "--dir", str(folder)]
    for path in binds:
        args += ["--ro-bind", str(path), str(path)]
    for name in optional:
        args += ["--ro-bind-try", name, name]
    # The jail's own root (a tmpfs holding the mount points) becomes read-only too; without it an
    # unprivileged user, root of its namespace, could write there.
    args += ["--bind", str(scratch), str(scratch), "--remount-ro", "/",
             "--chdir", str(scratch), "--"]
    return args


def candidate_prefix(isolation: Isolation, *, scratch: Path,
                     hidden: Sequence[Path]) -> list[str]:
    """A nested jail, run from inside the outer one, that hides `hidden` and the outer processes.

    The candidate keeps the outer view (read-only, no network) minus the hidden folders; its
    scratch folder is the one place it can write (/tmp is an empty read-only folder: TMPDIR is the
    scratch folder); it has its own PID namespace and dies with the evaluator that started it.
    """
    if not isolation.jailed or isolation.bwrap is None:
        raise ValueError("candidate_prefix needs a bubblewrap isolation")
    scratch = Path(scratch).resolve()
    args = [isolation.bwrap, "--dev-bind", "/", "/", "--die-with-parent", "--new-session",
            "--unshare-pid", "--cap-drop", "ALL", "--tmpfs", "/tmp"]
    # The fresh /tmp would also hide a Python installation or venv that lives under /tmp (a
    # checkout in a temporary folder): show those again, read-only.
    for path in python_paths():
        if _is_under(Path(path), Path("/tmp")):
            args += ["--ro-bind", path, path]
    for path in hidden:
        # An empty, read-only folder in its place: nothing to read, nothing to plant.
        folder = str(Path(path).resolve())
        args += ["--tmpfs", folder, "--remount-ro", folder]
    # No --proc: the kernel refuses a new proc mount under bwrap's (partly covered) one, so the
    # candidate gets an empty /proc and sees no process at all.
    args += ["--tmpfs", "/proc", "--remount-ro", "/proc",
             "--bind", str(scratch), str(scratch), "--remount-ro", "/tmp",
             "--chdir", str(scratch), "--"]
    return args


def python_paths() -> list[str]:
    """The running interpreter's installation and environment (venv), outside /usr."""
    found = {os.path.realpath(p) for p in (sys.prefix, sys.exec_prefix, sys.base_prefix,
                                            sys.base_exec_prefix)}
    found.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    return sorted(p for p in found if p != "/" and os.path.isdir(p)
                  and not _is_under(Path(p), Path("/usr")))


def _outermost(paths: Sequence[Path]) -> list[Path]:
    """Existing paths with those inside another one dropped (that one's bind shows them)."""
    kept: list[Path] = []
    for path in sorted({p for p in paths if p.exists()}, key=lambda p: (len(p.parts), str(p))):
        if not any(_is_under(path, outer) for outer in kept):
            kept.append(path)
    return kept


def _parents_to_create(mounts: Sequence[Path]) -> list[Path]:
    """Folders above the mount points that no mount provides, outermost first."""
    covered = [Path("/tmp"), Path("/proc"), Path("/dev")]
    needed: set[Path] = set()
    for mount in mounts:
        for parent in mount.parents:
            if parent == Path("/") or parent in covered:
                continue
            if any(_is_under(parent, m) for m in mounts if m != mount):
                continue  # inside another mount: it exists there already
            needed.add(parent)
    return sorted(needed, key=lambda p: (len(p.parts), str(p)))


def _is_under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents
