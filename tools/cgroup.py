"""A cgroup v2 subtree for the warm workers, where the machine delegates one to this user.

Each worker and everything it starts live in a cgroup of their own, below `adrs-<pid>-<tag>` in
the cgroup this process belongs to. That gives two things the other mechanisms do not:

- limits on the total: memory.max and pids.max hold all the processes of a worker together,
  where resource limits hold each process alone (needs the memory and pids controllers, which a
  cgroup can hand down only when no process lives in it: run adrs in a delegated scope, e.g.
  `systemd-run --user --scope -p Delegate=yes adrs run ...`);
- an outside count of a worker's processes after each evaluation, and `cgroup.kill` to end them
  all at once however they detached (Linux 5.14+), which works without any controller.

`delegated()` finds the subtree or says in one line why there is none.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CONTROLLERS = ("memory", "pids")
PREFIX = "adrs-"


@dataclass(frozen=True)
class Cgroup:
    """One cgroup folder."""

    path: Path

    def procs(self) -> list[int]:
        try:
            return [int(pid) for pid in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def kill(self) -> None:
        """SIGKILL every process in it: at once where the kernel has cgroup.kill, else one by one."""
        try:
            (self.path / "cgroup.kill").write_text("1")
        except OSError:
            for _ in range(100):
                pids = self.procs()
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.01)

    def remove(self, wait_seconds: float = 2.0) -> None:
        """Kill what is left and remove the folder (the kernel refuses while a process is in it)."""
        self.kill()
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    return  # left for the next start of adrs to clear (see `delegated`)
                time.sleep(0.01)


@dataclass(frozen=True)
class CgroupTree:
    """This process's subtree: where the workers' cgroups are made."""

    root: Cgroup
    controllers: frozenset[str]  # those of CONTROLLERS enabled for the workers' cgroups
    note: str                    # one line: what it gives, or why limits are missing

    def child(self, name: str, *, memory_bytes: int, pids: int) -> Cgroup:
        group = Cgroup(self.root.path / name)
        group.path.mkdir()
        if "memory" in self.controllers:
            (group.path / "memory.max").write_text(str(memory_bytes))
            if (group.path / "memory.swap.max").exists():  # no swapping around the limit
                (group.path / "memory.swap.max").write_text("0")
        if "pids" in self.controllers:
            (group.path / "pids.max").write_text(str(pids))
        return group

    def close(self) -> None:
        for child in self.root.path.iterdir() if self.root.path.is_dir() else []:
            if child.is_dir():
                Cgroup(child).remove()
        self.root.remove()


def delegated(tag: str) -> CgroupTree | str:
    """A subtree of this process's cgroup named `adrs-<pid>-<tag>`, made now, or why there is
    none (one line)."""
    mount = _cgroup2_mount()
    if mount is None:
        return "no cgroup v2 hierarchy is mounted"
    own = _own_path()
    if own is None:
        return "this process is in no cgroup v2 group"
    current = mount / own.lstrip("/")
    if not os.access(current / "cgroup.procs", os.W_OK) or not os.access(current, os.W_OK):
        return f"the cgroup {own} is not delegated to this user"
    _clear_stale(current)
    root = Cgroup(current / f"{PREFIX}{os.getpid()}-{tag}")
    try:
        root.path.mkdir(exist_ok=True)
    except OSError as exc:
        return f"cannot make a cgroup below {own}: {exc.strerror}"
    available = set((current / "cgroup.controllers").read_text().split()) & set(CONTROLLERS)
    enabled = set()
    for name in sorted(available):
        try:  # down to root.path's children: both levels must hand it on
            for level in (current, root.path):
                (level / "cgroup.subtree_control").write_text(f"+{name}")
            enabled.add(name)
        except OSError:
            break  # EBUSY: processes live in `current`; no controller can be handed down
    absent = sorted(set(CONTROLLERS) - available)
    busy = sorted(available - enabled)
    if absent:
        note = (f"process tracking only: cgroup v2 has no {' or '.join(absent)} controller here "
                "(a cgroup v1 or hybrid setup holds them)")
    elif busy:
        note = (f"process tracking only: {own} cannot hand down {' or '.join(busy)} (run adrs "
                "in a delegated scope: systemd-run --user --scope -p Delegate=yes adrs ...)")
    else:
        note = "memory and process-count limits on each worker's whole jail"
    return CgroupTree(root=root, controllers=frozenset(enabled), note=note)


def _cgroup2_mount() -> Path | None:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        before, _, after = line.partition(" - ")
        if after.split(" ")[:1] == ["cgroup2"]:
            return Path(before.split(" ")[4])
    return None


def _own_path() -> str | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            return line[3:]
    return None


def _clear_stale(parent: Path) -> None:
    """Remove the subtrees of adrs processes that died without cleaning up (a SIGKILL)."""
    for folder in parent.glob(f"{PREFIX}*-*"):
        pid = folder.name.removeprefix(PREFIX).split("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            for child in folder.iterdir():
                if child.is_dir():
                    Cgroup(child).remove(wait_seconds=0.1)
            Cgroup(folder).remove(wait_seconds=0.1)
