"""What a user may name a program by: best, baseline, root, a key, an iteration, a sha, a rev."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from adrs.workspace.records import WorkspaceError

_KEY = re.compile(r"^i(\d{4,})-s(\d+)$")


def resolve_revision(rev: str, *, top: Path, root: str, best: str | None,
                     keys: Mapping[str, tuple[str, str]], programs: Mapping[str, object],
                     key_of: Callable[[int, int], str]) -> str:
    """Full sha of "best", "baseline", "root", a key (i0007-s0), an iteration ("7" = slot 0),
    a full or short sha, or any git revision. `keys` maps a key to (namespace, commit) and
    `programs` holds every program commit, so the common names need no git process; `key_of`
    spells the key of (iteration, slot)."""
    rev = rev.strip()
    if not rev or rev.startswith("-"):
        raise WorkspaceError(f"unknown revision: {rev!r}")
    if rev in programs or rev == root:
        return rev
    if rev == "best":
        if best is None:
            raise WorkspaceError("no best program yet")
        return best
    if rev == "root":
        return root
    if rev == "baseline":
        rev = key_of(0, 0)
    if _KEY.match(rev):
        if rev not in keys:
            raise WorkspaceError(f"no program with key {rev}")
        return keys[rev][1]
    if rev.isdigit():
        iteration = int(rev)
        by_key = keys.get(key_of(iteration, 0), ("", None))[1]
        by_sha = _try_rev_parse(top, rev) if len(rev) >= 4 else None
        if by_key and by_sha and by_key != by_sha:
            raise WorkspaceError(f"ambiguous revision {rev}: iteration {iteration} or commit {by_sha[:12]}")
        if not (by_key or by_sha):
            raise WorkspaceError(f"no program at iteration {iteration} (slot 0)")
        return by_key or by_sha  # type: ignore[return-value]
    return _rev_parse(top, rev)


def _try_rev_parse(top: Path, rev: str) -> str | None:
    try:
        return _rev_parse(top, rev)
    except WorkspaceError:
        return None


def _rev_parse(top: Path, rev: str) -> str:
    done = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=top,
                          capture_output=True, text=True)
    if done.returncode != 0:
        reason = "ambiguous" if "ambiguous" in done.stderr else "unknown"
        raise WorkspaceError(f"{reason} revision: {rev}")
    return done.stdout.strip()
