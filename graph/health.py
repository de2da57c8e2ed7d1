"""Is the run's git repository whole? Asked after every step, and whenever git fails, so that a
repository damaged by something outside adrs (a candidate run without isolation, a disk fault) is
reported as damage, with git's own words, instead of as the error of whatever git command failed
next ("unknown revision")."""

from __future__ import annotations

import subprocess
from pathlib import Path

from adrs.workspace.repository import RunRepository

GIT_TIMEOUT = 60.0


def quick_damage(root: Path, repository: RunRepository | None = None) -> str | None:
    """A check for every step, of constant cost: HEAD (which points at the best program's ref)
    names a commit git can read; asked through the open repository's reader when there is one,
    else with `git rev-parse`."""
    readable = (repository.head_is_commit() if repository is not None else
                _git_problem(root, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]) is None)
    if readable:
        return None
    try:
        head = (Path(root) / ".git" / "HEAD").read_bytes()[:60]
    except OSError as exc:
        return f".git/HEAD cannot be read: {exc.strerror}"
    return f".git/HEAD names no commit: {head!r}"


def damage(root: Path) -> str | None:
    """Why the repository is damaged (one line), or None: the quick check, then `git fsck`
    (its cost grows with the run: only after something failed)."""
    if not (Path(root) / ".git").is_dir():
        return "its .git folder is missing"
    return quick_damage(root) or _git_problem(
        root, ["fsck", "--no-progress", "--no-dangling", "--connectivity-only"])


def damaged_message(root: Path, problem: str) -> str:
    return (f"the run's git repository at {root} is damaged ({problem}): something outside adrs "
            "changed its .git (an unjailed candidate can; see --unsafe-no-isolation)")


def _git_problem(root: Path, args: list[str]) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=GIT_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"git {args[0]} failed: {exc}"
    if done.returncode == 0:
        return None
    lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    return lines[0] if lines else f"git {args[0]} exited with code {done.returncode}"
