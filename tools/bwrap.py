"""The bubblewrap argv of the outer jail and of the candidate's nested jail, and the view they share.

The view (which host paths a jailed command sees) is the same for every mechanism; tools/jail.py
hands it to bubblewrap here, to tools/namespaces.py, or to Landlock rules.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

TMP_BYTES = 1 << 20  # a jail's /tmp only holds mount points, and is read-only
# A jail's own /dev/shm, writable: multiprocessing's locks and queues (process pools) need it.
SHM = "/dev/shm"
SHM_BYTES = 64 << 20
# Top-level system folders a Python process needs; symlinks (merged /usr) are recreated as links.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# The few files of /etc a Python process reads; the rest of /etc (shadow, keys) stays out of view.
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
             "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf")
# Read by some numeric libraries to count CPUs; harmless.
SYS_FILES = ("/sys/devices/system/cpu",)


def system_links() -> list[tuple[str, str]]:
    """(target, name) of the top-level system folders that are symlinks (merged /usr)."""
    return [(os.readlink(name), name) for name in SYSTEM_DIRS if Path(name).is_symlink()]


def visible_paths(read_only: Sequence[Path]) -> list[Path]:
    """Every host path a jailed command sees read-only, outermost only (a bind shows what is in it)."""
    paths = [Path(name) for name in SYSTEM_DIRS if Path(name).is_dir() and not Path(name).is_symlink()]
    paths += [Path(p) for p in python_paths()]
    paths += [Path(p).resolve() for p in read_only]
    return outermost(paths)


def optional_files() -> list[str]:
    return [name for name in ETC_FILES + SYS_FILES if os.path.exists(name)]


def jail_argv(bwrap: str, *, scratch: Path, read_only: Sequence[Path], as_root: bool) -> list[str]:
    """The bwrap argv (ending in "--") that runs a command jailed, with `scratch` as cwd."""
    scratch = Path(scratch).resolve()
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-pid",
            "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if as_root:
        # Root: keep only what bwrap needs to enter the scratch folder (owned by `nobody`) and
        # what the launcher needs to become `nobody`; becoming `nobody` clears them all.
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                 "--cap-add", "CAP_DAC_OVERRIDE"]
    else:
        args += ["--cap-drop", "ALL"]
    for target, name in system_links():
        args += ["--symlink", target, name]
    binds = visible_paths([*read_only, Path(bwrap)])  # a jailed evaluator may jail its candidate
    optional = optional_files()
    mounts = binds + [scratch] + [Path(name) for name in optional]
    args += ["--perms", "1777", "--size", str(TMP_BYTES), "--tmpfs", "/tmp",
             "--proc", "/proc", "--dev", "/dev", *_shm_args()]
    for folder in _parents_to_create(mounts):
        # Made by hand so they are 0755 (bwrap copies the source's mode: /root is 0700).
        args += ["--perms", "0755", "--dir", str(folder)]
    for path in binds:
        args += ["--ro-bind", str(path), str(path)]
    for name in optional:
        args += ["--ro-bind-try", name, name]
    # The jail's own root (a tmpfs holding the mount points) and /tmp become read-only too, so
    # the scratch folder is the one writable place (TMPDIR points there): an unprivileged user,
    # root of its namespace, could write there, and a warm worker would carry it to the next run.
    args += ["--bind", str(scratch), str(scratch), "--remount-ro", "/", "--remount-ro", "/tmp",
             "--chdir", str(scratch), "--"]
    return args


def nested_argv(bwrap: str, *, scratch: Path, hidden: Sequence[Path]) -> list[str]:
    """A nested jail, run from inside the outer one, that hides `hidden` and the outer processes.

    The candidate keeps the outer view (read-only, no network) minus the hidden folders; its
    scratch folder is the one place it can write (/tmp is an empty read-only folder: TMPDIR is the
    scratch folder); it has its own PID namespace and /dev/shm, and dies with the evaluator that
    started it.
    """
    scratch = Path(scratch).resolve()
    args = [bwrap, "--dev-bind", "/", "/", "--die-with-parent", "--new-session",
            "--unshare-pid", "--cap-drop", "ALL", "--tmpfs", "/tmp", *_shm_args()]
    # The fresh /tmp would also hide a Python installation or venv that lives under /tmp (a
    # checkout in a temporary folder): show those again, read-only.
    for path in python_paths():
        if is_under(Path(path), Path("/tmp")):
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


def _shm_args() -> list[str]:
    """A fresh, bounded /dev/shm that dies with the jail (the host's is never seen)."""
    return ["--perms", "1777", "--size", str(SHM_BYTES), "--tmpfs", SHM]


def python_paths() -> list[str]:
    """The running interpreter's installation and environment (venv), outside /usr."""
    found = {os.path.realpath(p) for p in (sys.prefix, sys.exec_prefix, sys.base_prefix,
                                            sys.base_exec_prefix)}
    found.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    return sorted(p for p in found if p != "/" and os.path.isdir(p)
                  and not is_under(Path(p), Path("/usr")))


def outermost(paths: Sequence[Path]) -> list[Path]:
    """Existing paths with those inside another one dropped (that one's bind shows them)."""
    kept: list[Path] = []
    for path in sorted({p for p in paths if p.exists()}, key=lambda p: (len(p.parts), str(p))):
        if not any(is_under(path, outer) for outer in kept):
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
            if any(is_under(parent, m) for m in mounts if m != mount):
                continue  # inside another mount: it exists there already
            needed.add(parent)
    return sorted(needed, key=lambda p: (len(p.parts), str(p)))


def is_under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents
