"""The isolation a command runs under, and the argv that puts it there.

Every contained command starts as `tools/_launch.py` (rlimits, user, capabilities, no_new_privs);
what surrounds it depends on the mechanism the machine allows (tools/isolation.py decides):

- bwrap:      bubblewrap builds the jail; the launcher runs inside it.
- namespaces: the launcher builds the same jail itself from user, mount, PID and network
              namespaces (tools/namespaces.py), for machines without bubblewrap.
- landlock:   no namespaces: Landlock rules (tools/landlock.py) limit reads, writes and TCP, and
              the launcher stays outside as a subreaper that kills whatever the command leaves.
- none:       resource limits and a process group only.

A jailed command may jail its own children further: `candidate_prefix` is the argv evaluators put
in front of the candidate's command (handed to them as JSON in $ADRS_CANDIDATE_PREFIX).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from adrs.tools.bwrap import (
    SHM,
    SHM_BYTES,
    TMP_BYTES,
    is_under,
    jail_argv,
    nested_argv,
    optional_files,
    python_paths,
    system_links,
    visible_paths,
)

Kind = Literal["bwrap", "namespaces", "landlock", "none"]
TOOLS = Path(__file__).resolve().parent
LAUNCHER = TOOLS / "_launch.py"
# Shown read-only inside every jail: a jailed evaluator builds its candidate's jail with them.
JAIL_FILES = (LAUNCHER, TOOLS / "namespaces.py", TOOLS / "landlock.py")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


@dataclass(frozen=True)
class Isolation:
    """The containment in force and, in one line, why."""

    kind: Kind
    reason: str
    bwrap: str | None = None               # absolute path of bwrap when kind == "bwrap"
    user: tuple[int, int] | None = None    # (uid, gid) the jailed command drops to, when root
    nested: bool = False                   # a jailed command can jail its children further
    remedy: str | None = None              # kind "none": the one command that would isolate

    @property
    def jailed(self) -> bool:
        """Code runs with more than resource limits: its own view of the files, no network."""
        return self.kind != "none"

    @property
    def own_pids(self) -> bool:
        """A PID namespace: every process of the jail dies with it, and none sees the host's."""
        return self.kind in ("bwrap", "namespaces")

    @property
    def writable_outside_scratch(self) -> tuple[str, ...]:
        """The jail's own writable folders besides the scratch folder (its /dev/shm): a warm
        worker empties them after each evaluation, as it does the scratch folder."""
        return (SHM,) if self.kind in ("bwrap", "namespaces") else ()


def launcher(config: dict, argv: Sequence[str]) -> list[str]:
    return [sys.executable, "-I", "-S", str(LAUNCHER), json.dumps(config), *argv]


def command(isolation: Isolation, argv: Sequence[str], *, scratch: Path, read_only: Sequence[Path],
            rlimits: list[tuple[str, int, int]], cgroup: Path | None = None,
            sees_processes: bool = False) -> list[str]:
    """The argv that runs `argv` contained, with `scratch` (its cwd) as the one writable folder
    and `read_only` (besides the system and Python) as all else it sees. `sees_processes` lets a
    Landlock-jailed command read /proc (the warm worker, which kills what its evaluations leave)."""
    inner = {"rlimits": rlimits, "user": list(isolation.user) if isolation.user else None,
             "unset": ["PWD"]}  # bwrap exports PWD after --chdir; the environment is the caller's
    outer = {"cgroup": str(cgroup)} if cgroup else {}
    shown = [*read_only, *JAIL_FILES, Path(sys.executable)]
    if isolation.kind == "none":
        return launcher({**outer, **inner}, argv)
    if isolation.kind == "bwrap":
        assert isolation.bwrap is not None
        jailed = jail_argv(isolation.bwrap, scratch=scratch, read_only=shown,
                           as_root=isolation.user is not None) + launcher(inner, argv)
        return launcher(outer, jailed) if cgroup else jailed
    if isolation.kind == "namespaces":
        view = {"read_only": [str(p) for p in visible_paths(shown)] + optional_files(),
                "symlinks": [list(link) for link in system_links()],
                "scratch": str(Path(scratch).resolve()), "tmp_bytes": TMP_BYTES,
                "shm_bytes": SHM_BYTES,
                "user_ns": os.geteuid() != 0}
        return launcher({**outer, **inner, "namespaces": {"enter": view}, "drop_caps": True}, argv)
    rules = landlock_rules(shown, scratch=scratch, sees_processes=sees_processes)
    return launcher({**outer, **inner, "supervise": True, "landlock": rules}, argv)


def landlock_rules(read_only: Sequence[Path], *, scratch: Path, sees_processes: bool = False,
                   hidden: Sequence[Path] = ()) -> dict[str, list[str]]:
    hidden = [Path(p).resolve() for p in hidden]
    read = [str(p) for p in visible_paths(read_only)
            if not any(is_under(p, h) for h in hidden)]  # a folder inside a shown one stays seen
    read += optional_files() + list(DEVICES) + (["/proc"] if sees_processes else [])
    return {"read": read, "write": [str(Path(scratch).resolve()), "/dev/null"]}


def candidate_prefix(isolation: Isolation, *, scratch: Path, hidden: Sequence[Path],
                     read_only: Sequence[Path] = ()) -> list[str]:
    """The nested jail's argv: the candidate keeps the outer view minus `hidden` (empty folders),
    sees no process of the evaluator, and writes only to `scratch`."""
    if not isolation.jailed:
        raise ValueError("candidate_prefix needs a jail")
    if isolation.kind == "bwrap":
        assert isolation.bwrap is not None
        return nested_argv(isolation.bwrap, scratch=scratch, hidden=hidden)
    if isolation.kind == "namespaces":
        tmp = Path("/tmp")
        keep = [str(p) for p in [*map(Path, python_paths()), *JAIL_FILES, Path(sys.executable)]
                if is_under(Path(p), tmp)]
        spec = {"hidden": [str(Path(p).resolve()) for p in hidden],
                "scratch": str(Path(scratch).resolve()), "keep": keep, "shm_bytes": SHM_BYTES}
        return launcher({"namespaces": {"hide": spec}, "drop_caps": True}, [])
    shown = [*read_only, *JAIL_FILES, Path(sys.executable)]
    return launcher({"supervise": True, "landlock": landlock_rules(
        shown, scratch=scratch, hidden=hidden)}, [])
