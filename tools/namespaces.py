"""A jail from Linux namespaces alone, for machines without bubblewrap.

Stdlib only (ctypes for mount, pivot_root and capabilities) and importing nothing from adrs: the
sandbox's launcher loads this file by path. Two entry points, both of which fork: the calling
process stays outside as a proxy that waits for the jail and exits with its command's status; PID 1
of the new PID namespace stays as a small init; and PID 2 returns from the call, inside the jail,
ready to exec the command (a process ignores signals it sends to its own init: the command must
not be PID 1).

- `enter(view)` builds the outer jail, as bubblewrap would: new user (unless root), mount, PID,
  network, IPC and UTS namespaces; a fresh root holding read-only binds of the listed paths only,
  a read-only /tmp, a minimal /dev, a new /proc, and one writable scratch folder.
- `hide(spec)` builds a nested jail from inside the outer one: a new user, mount, PID and network
  namespace in which the listed folders are empty and read-only, /proc is empty and /tmp is
  read-only except the scratch folder.

When the command exits, so does PID 1, and the kernel kills every process left in the namespace
(however it detached); PID 1 dies when its proxy dies, and the proxy when the process that started
it does (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import os
import platform
import re
import signal
import stat
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_RELATIME = 16384, 1 << 18, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 1, 24, 47, 4
# statvfs flags of a mount whose value must be kept when it is remounted (locked in a userns).
_KEPT_FLAGS = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC,
               os.ST_NOATIME: MS_NOATIME, os.ST_NODIRATIME: MS_NODIRATIME, 4096: MS_RELATIME}
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
_OCTAL = re.compile(r"\\([0-7]{3})")  # mountinfo escapes spaces and such as \040
BASE = "/tmp"  # where the new root is assembled, in this mount namespace only

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]


class JailError(OSError):
    """A namespace operation was refused; the message names it."""


def _check(result: int, what: str) -> int:
    if result < 0:
        error = ctypes.get_errno()
        raise JailError(error, f"{what}: {os.strerror(error)}")
    return result


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def arg(text: str | None) -> bytes | None:
        return None if text is None else os.fsencode(text)
    _check(_libc.mount(arg(source), arg(target), arg(fstype), flags, arg(data)), f"mount {target}")


def umount(target: str) -> None:
    _check(_libc.umount2(os.fsencode(target), MNT_DETACH), f"umount {target}")


def unshare(flags: int) -> None:
    if hasattr(os, "unshare"):  # Python 3.12+
        try:
            os.unshare(flags)
        except OSError as exc:
            raise JailError(exc.errno, f"unshare: {exc.strerror}") from exc
        return
    _check(_libc.unshare(flags), "unshare")


def pivot_root(new_root: str, put_old: str) -> None:
    number = _PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise JailError(0, f"pivot_root: unknown syscall number on {platform.machine()}")
    _check(_libc.syscall(number, os.fsencode(new_root), os.fsencode(put_old)), "pivot_root")


def die_with_parent() -> None:
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")


def drop_bounding_set() -> None:
    """Empty the bounding and ambient sets, so no exec'd program regains a capability (root of a
    user namespace included). Needs CAP_SETPCAP: call it before giving up capabilities."""
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:
            raise JailError(ctypes.get_errno(), f"cannot drop capability {cap}")  # EINVAL: past the last
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


def clear_capabilities() -> None:
    """Empty the effective, permitted and inheritable sets of this process."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.capset(header, data), "capset")


def enter(view: dict) -> None:
    """Build the outer jail and return inside it (see the module docstring); `view` holds:
    read_only (paths shown read-only), symlinks ([[target, name]]), scratch (the writable folder
    and working directory), tmp_bytes (size of /tmp), shm_bytes (size of /dev/shm), user_ns (False
    when running as root)."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    unshare(flags | (CLONE_NEWUSER if view["user_ns"] else 0))
    if view["user_ns"]:
        # The same ids inside: the jailed command is no root there, so it loses every capability
        # at exec, and can map its own id again for a nested jail (root could not since 5.12).
        _map_ids(uid, gid)
    _become_pid_one()
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    _build_root(view)
    _start_command()


def hide(spec: dict) -> None:
    """Build a nested jail and return inside it; `spec` holds hidden (folders shown empty and
    read-only), scratch (stays writable), keep (paths under /tmp that stay visible, read-only) and
    shm_bytes (the size of its own /dev/shm)."""
    uid, gid = os.getuid(), os.getgid()
    unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC)
    _map_ids(uid, gid)
    _become_pid_one()
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Opened before /tmp is covered, bound back in from their descriptors afterwards.
    keep = [(path, os.open(path, os.O_PATH | os.O_CLOEXEC), ro)
            for path, ro in [(spec["scratch"], False)] + [(p, True) for p in spec["keep"]]
            if os.path.exists(path)]
    for folder in spec["hidden"]:
        if os.path.isdir(folder):
            _empty_read_only(folder)
    if os.path.isdir("/dev/shm"):  # its own, not the evaluator's
        _mount_shm("/dev/shm", spec["shm_bytes"])
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    under_tmp = [(path, fd, ro) for path, fd, ro in keep if path.startswith("/tmp/")]
    for path, fd, _ro in under_tmp:
        _make_mount_point(path, directory=stat.S_ISDIR(os.fstat(fd).st_mode))
    mount(None, "/tmp", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    for path, fd, read_only in under_tmp:
        # /tmp covers the path itself: bind it back from the descriptor opened before.
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        if read_only:
            _remount_read_only(path)
    for _path, fd, _ro in keep:
        os.close(fd)
    _empty_read_only("/proc")  # last: the binds above go through /proc/self/fd
    os.chdir(spec["scratch"])
    _start_command()


def _empty_read_only(folder: str) -> None:
    mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "size=4k,mode=0555")
    mount(None, folder, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0555")


def _map_ids(uid: int, gid: int) -> None:
    """Map the caller's ids to themselves in its new user namespace (a process may map its own)."""
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1\n"),
                       ("gid_map", f"{gid} {gid} 1\n")):
        fd = os.open(f"/proc/self/{name}", os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        except OSError as exc:
            raise JailError(exc.errno, f"writing /proc/self/{name}: {exc.strerror}") from exc
        finally:
            os.close(fd)


def _become_pid_one() -> None:
    """Fork into the new PID namespace; the parent stays behind as a proxy and never returns."""
    die_with_parent()
    pid = os.fork()
    if pid == 0:
        die_with_parent()
        return
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda number, _frame: os.kill(pid, number))
    _exit_like(pid)


def _start_command() -> None:
    """As PID 1, fork the process that runs the command and stay as its init (as bubblewrap does).
    When the command ends, so does PID 1, and with it every process left in the namespace."""
    pid = os.fork()
    if pid == 0:
        die_with_parent()
        return
    _exit_like(pid)


def _exit_like(pid: int) -> None:
    """Reap children (orphans too) until `pid` ends, then exit as it did; never returns."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(125)
        if done == pid:
            break
    # Like bubblewrap: a jailed command killed by signal N exits with 128 + N.
    code = os.waitstatus_to_exitcode(status)
    os._exit(128 - code if code < 0 else code)


def _build_root(view: dict) -> None:
    """Assemble the new root on a tmpfs at BASE/newroot, then pivot into it (as bubblewrap does)."""
    new = f"{BASE}/newroot"
    mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    os.mkdir(new, 0o755)
    os.mkdir(f"{BASE}/oldroot", 0o755)
    mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    pivot_root(BASE, f"{BASE}/oldroot")
    os.chdir("/")
    old, new = "/oldroot", "/newroot"
    # The private /tmp first: the binds below may lie under it (a scratch folder in /tmp).
    _make_mount_point(f"{new}/tmp", directory=True)
    mount("tmpfs", f"{new}/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={view['tmp_bytes']},mode=0755")
    _make_dev(old, new, view["shm_bytes"])
    _make_mount_point(f"{new}/proc", directory=True)
    try:
        mount("proc", f"{new}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except JailError:  # a host /proc with covered parts forbids a new one: an empty /proc then
        mount("tmpfs", f"{new}/proc", "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k")
    for path in view["read_only"]:
        source = old + path
        if not os.path.exists(source):
            continue
        _make_mount_point(new + path, directory=os.path.isdir(source))
        mount(source, new + path, None, MS_BIND | MS_REC)
        _remount_read_only(new + path)
    for target, name in view["symlinks"]:
        _make_mount_point(os.path.dirname(new + name), directory=True)
        os.symlink(target, new + name)
    scratch = view["scratch"]
    _make_mount_point(new + scratch, directory=True)
    mount(old + scratch, new + scratch, None, MS_BIND | MS_REC | MS_NOSUID | MS_NODEV)
    umount(old)
    for path in (f"{new}/tmp", new):  # read-only like bubblewrap's: scratch is the one writable place
        mount(None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
    os.chdir(new)
    pivot_root(".", ".")  # the assembly tmpfs now sits on top of the new root: detach it
    umount(".")
    os.chdir(scratch)


def _make_dev(old: str, new: str, shm_bytes: int) -> None:
    dev = f"{new}/dev"
    _make_mount_point(dev, directory=True)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    for name in DEVICES:
        if os.path.exists(f"{old}/dev/{name}"):
            _make_mount_point(f"{dev}/{name}", directory=False)
            mount(f"{old}/dev/{name}", f"{dev}/{name}", None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{dev}/{name}")
    _make_mount_point(f"{dev}/shm", directory=True)
    _mount_shm(f"{dev}/shm", shm_bytes)
    mount(None, dev, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")


def _mount_shm(target: str, size: int) -> None:
    """A writable /dev/shm of the jail's own: multiprocessing's locks and queues live there."""
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")


def _make_mount_point(path: str, *, directory: bool) -> None:
    if directory:
        os.makedirs(path, mode=0o755, exist_ok=True)
    elif not os.path.exists(path):
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def _remount_read_only(target: str) -> None:
    """Make `target` and every mount beneath it read-only, keeping the flags a userns locks."""
    for point in [target] + _submounts(target):
        kept = 0
        for flag, ms in _KEPT_FLAGS.items():
            if os.statvfs(point).f_flag & flag:
                kept |= ms
        mount(None, point, None, MS_BIND | MS_REMOUNT | MS_RDONLY | kept)


def _submounts(target: str) -> list[str]:
    found = []
    for where in ("/proc/self/mountinfo", "/oldroot/proc/self/mountinfo"):
        try:
            with open(where, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
            break
        except OSError:
            continue
    else:
        return found
    for line in lines:
        point = _OCTAL.sub(lambda match: chr(int(match.group(1), 8)), line.split(" ")[4])
        if point.startswith(target.rstrip("/") + "/"):
            found.append(point)
    return found


if __name__ == "__main__":
    sys.exit("namespaces.py is a library; tools/_launch.py uses it")
