"""Which isolation this machine gives sandboxed commands: decided once, reported in one line.

In order of strength (tools/jail.py says what each one is; docs/reliability.md what it guarantees):
bubblewrap, then unprivileged namespaces built by adrs itself, then Landlock rules, then nothing
but resource limits. Each candidate mechanism must pass a probe (a real jailed command that checks
what the jail must guarantee) before it is chosen.

$ADRS_SANDBOX: "auto" (default: the strongest that works), "bwrap", "namespaces" or "landlock"
(required: fail if it does not work), or "none" (resource limits only; "rlimits" is its old name).
When nothing works, `remedy` is the one command that would make a mechanism work here.
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
from pathlib import Path

from adrs.tools import landlock
from adrs.tools.jail import Isolation, candidate_prefix, command

__all__ = ["CANDIDATE_PREFIX_ENV", "Isolation", "IsolationError", "IsolationWarning", "current",
           "detect", "requested_mode"]

log = logging.getLogger(__name__)

SANDBOX_ENV = "ADRS_SANDBOX"
CANDIDATE_PREFIX_ENV = "ADRS_CANDIDATE_PREFIX"
MODES = ("auto", "bwrap", "namespaces", "landlock", "none")
ALIASES = {"rlimits": "none"}
NOBODY_ID = 65534
PROBE_TIMEOUT = 20.0


class IsolationError(RuntimeError):
    """$ADRS_SANDBOX asks for something this machine cannot do; the message is one line."""


class IsolationWarning(RuntimeWarning):
    """Candidates run with weaker containment than the machine should offer."""


_LOCK = threading.Lock()
_DECIDED: dict[str, Isolation] = {}


def requested_mode() -> str:
    mode = os.environ.get(SANDBOX_ENV, "auto").strip().lower() or "auto"
    mode = ALIASES.get(mode, mode)
    if mode not in MODES:
        raise IsolationError(f"{SANDBOX_ENV}={mode!r} is not one of {', '.join(MODES)}")
    return mode


def current() -> Isolation:
    """The isolation for this process, decided once per mode; warns once when there is none."""
    mode = requested_mode()
    with _LOCK:
        if mode not in _DECIDED:
            decided = detect(mode)
            if mode not in ("auto", "none") and decided.kind != mode:
                raise IsolationError(f"{SANDBOX_ENV}={mode} but {decided.reason}")
            if not decided.jailed and mode == "auto":
                warnings.warn(f"sandbox: {decided.reason}; candidates run with resource limits "
                              f"and a process group only", IsolationWarning, stacklevel=2)
            log.info("sandbox: %s (%s)", decided.kind, decided.reason)
            _DECIDED[mode] = decided
        return _DECIDED[mode]


def detect(mode: str = "auto") -> Isolation:
    """Probe the machine (uncached) for the mechanism `mode` asks for, or the strongest one."""
    if mode == "none":
        return Isolation("none", f"forced by {SANDBOX_ENV}=none", remedy=f"unset {SANDBOX_ENV}")
    tried = {"bwrap": _try_bwrap, "namespaces": _try_namespaces, "landlock": _try_landlock}
    order = list(tried) if mode == "auto" else [mode]
    failures: dict[str, str] = {}
    for kind in order:
        found = tried[kind]()
        if isinstance(found, Isolation):
            if failures:  # say why a stronger one was passed over
                found = Isolation(found.kind, f"{found.reason} ({'; '.join(failures.values())})",
                                  found.bwrap, found.user, found.nested)
            return found
        failures[kind] = found
    return Isolation("none", "no isolation works here: " + "; ".join(failures.values()),
                     remedy=remedy(failures))


def _try_bwrap() -> Isolation | str:
    found = shutil.which("bwrap")
    if found is None:
        return "bubblewrap (bwrap) is not installed"
    return _probed(Isolation("bwrap", "bubblewrap jail", bwrap=os.path.realpath(found),
                             user=drop_target(), nested=True), "bubblewrap")


def _try_namespaces() -> Isolation | str:
    return _probed(Isolation("namespaces", "namespace jail built by adrs", user=drop_target(),
                             nested=True), "user namespaces")


def _try_landlock() -> Isolation | str:
    abi = landlock.abi_version()
    if abi == 0:
        return "Landlock is not enabled in this kernel"
    missing = ("; no network rules before ABI 4" if abi < 4 else
               "; signals and abstract sockets unscoped before ABI 6" if abi < 6 else "")
    return _probed(Isolation("landlock", f"Landlock rules (ABI {abi}{missing}) and a subreaper",
                             user=drop_target(), nested=True), "Landlock")


def _probed(isolation: Isolation, label: str) -> Isolation | str:
    problem = probe(isolation)
    if problem is not None:
        return f"{label} does not work here ({problem})"
    if probe(isolation, nested=True) is not None:
        return Isolation(isolation.kind, f"{isolation.reason}; candidates are not hidden from "
                         "their evaluator (a nested jail does not work here)",
                         isolation.bwrap, isolation.user, nested=False)
    return isolation


def drop_target() -> tuple[int, int] | None:
    """(uid, gid) of `nobody` when running as root, else None (we are unprivileged already)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return NOBODY_ID, NOBODY_ID


def remedy(failures: dict[str, str]) -> str:
    """The one command that makes a mechanism work, from why each one failed."""
    for path, value, fix in (
            ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1",
             "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"),
            ("/proc/sys/kernel/unprivileged_userns_clone", "0",
             "sysctl -w kernel.unprivileged_userns_clone=1"),
            ("/proc/sys/user/max_user_namespaces", "0", "sysctl -w user.max_user_namespaces=15000")):
        try:
            if Path(path).read_text().strip() == value:
                return fix  # bubblewrap needs user namespaces too: this one fixes both
        except OSError:
            continue
    if "not installed" in failures.get("bwrap", ""):
        for manager, fix in (("apt-get", "apt-get install bubblewrap"),
                             ("dnf", "dnf install bubblewrap"), ("pacman", "pacman -S bubblewrap"),
                             ("apk", "apk add bubblewrap"), ("zypper", "zypper install bubblewrap")):
            if shutil.which(manager):
                return fix
        return "install bubblewrap with the system's package manager"
    return "run adrs on a Linux kernel with user namespaces or Landlock enabled"


# Runs jailed: check what the jail must guarantee. argv: [nested prefix JSON | ""]
_PROBE = """\
import json, subprocess, sys
open("probe.txt", "w").write("ok")
try:
    open("/probe-outside", "w")
    sys.exit("the root file system is writable")
except OSError:
    pass
if sys.argv[1]:
    prefix = json.loads(sys.argv[1])
    done = subprocess.run(prefix + [sys.executable, "-I", "-S", "-c", "print(42)"],
                          capture_output=True, text=True, timeout=15)
    if done.stdout.strip() != "42":
        sys.exit("nested: " + (done.stderr.strip().splitlines() or ["no output"])[-1])
"""


def probe(isolation: Isolation, *, nested: bool = False) -> str | None:
    """Why a jail built this way does not work here (one line), or None when it does."""
    with tempfile.TemporaryDirectory(prefix="adrs-probe-") as folder:
        scratch = Path(folder)
        hidden = scratch / "hidden"
        hidden.mkdir()
        if isolation.user is not None:
            for path in (scratch, hidden):
                os.chown(path, *isolation.user)
        prefix = candidate_prefix(isolation, scratch=scratch, hidden=[hidden]) if nested else []
        argv = command(isolation, [sys.executable, "-I", "-S", "-c", _PROBE,
                                   json.dumps(prefix) if nested else ""],
                       scratch=scratch, read_only=[], rlimits=[])
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
