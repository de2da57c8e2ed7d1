"""Steering notes: a person's guidance to the planner, kept in the run's git repository.

Each note is one commit on its own ref, so `git log refs/steering` shows every piece of guidance
with its author and the iteration it was given after. The commits carry the empty tree and stand
outside refs/adrs/, so `git log --glob=refs/adrs` still lists programs only:

    Try a priority queue keyed on the remaining work.

    Steered-by: Ada
    After-Iteration: 5

A note given after iteration 5 reaches the planner from iteration 6 on (`for_iteration`), so a
resumed iteration plans with exactly the guidance it had the first time.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from adrs.workspace.repository import AUTHOR_EMAIL, AUTHOR_NAME, WorkspaceError

STEERING_REF = "refs/steering"
TEXT_MAX = 4000
_RETRIES = 5
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_IDENTITY = {"GIT_AUTHOR_NAME": AUTHOR_NAME, "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
             "GIT_COMMITTER_NAME": AUTHOR_NAME, "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL}
_SEPARATOR = "\x1e"  # between records of `git log`; never in a note (control characters are refused)


@dataclass(frozen=True)
class SteeringNote:
    """One piece of guidance, as read back from git."""

    id: str  # the commit that holds it
    text: str
    author: str
    after_iteration: int  # iterations completed when it was given
    time: str  # ISO 8601, the commit's date


def _clean(text: str, what: str, limit: int) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    body = "\n".join(lines).strip("\n").replace("\t", "    ")
    if not body.strip():
        raise WorkspaceError(f"{what} is empty")
    if _CONTROL.search(body):
        raise WorkspaceError(f"{what} has control characters")
    if len(body) > limit:
        raise WorkspaceError(f"{what} is {len(body)} characters long (at most {limit})")
    return body


def _message(text: str, author: str, after_iteration: int) -> str:
    return f"{text}\n\nSteered-by: {author}\nAfter-Iteration: {after_iteration}\n"


def _parse(sha: str, time: str, message: str) -> SteeringNote:
    text, _, trailers = message.rstrip("\n").rpartition("\n\n")
    fields = dict(line.partition(": ")[::2] for line in trailers.split("\n"))
    try:
        return SteeringNote(id=sha, text=text, author=fields["Steered-by"],
                            after_iteration=int(fields["After-Iteration"]), time=time)
    except (KeyError, ValueError) as exc:
        raise WorkspaceError(f"steering note {sha[:12]} is unreadable ({exc})") from exc


class SteeringLog:
    """The steering notes of one run. Writers append with a compare-and-swap on the ref, so the
    command line and the viewer may add notes at the same time without losing one."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not (self.path / ".git").exists():
            raise WorkspaceError(f"not an adrs run: {path}")
        self._read: tuple[tuple[object, ...], tuple[SteeringNote, ...]] | None = None

    def notes(self) -> tuple[SteeringNote, ...]:
        """Every note, oldest first; read from git again only when the ref moved (`version`)."""
        version = self.version()
        if self._read is None or self._read[0] != version:
            self._read = (version, self._read_notes())
        return self._read[1]

    def _read_notes(self) -> tuple[SteeringNote, ...]:
        head = self._head()
        if head is None:
            return ()
        out = self._git("log", f"--format=%H%x00%cI%x00%B{_SEPARATOR}", head)
        records = [record.strip("\n") for record in out.split(_SEPARATOR) if record.strip()]
        return tuple(reversed([_parse(*record.split("\0", 2)) for record in records]))

    def for_iteration(self, iteration: int) -> tuple[SteeringNote, ...]:
        """The notes the planner of `iteration` reads: those given before it started."""
        return tuple(note for note in self.notes() if note.after_iteration < iteration)

    def version(self) -> tuple[object, ...]:
        """A mark that changes when a note is added, read with two stat calls and no git process:
        the ref's file (a new inode at every update, git renames a lock file over it) and the
        packed refs (where `git pack-refs` may move it)."""
        marks: list[object] = []
        for name in (STEERING_REF, "packed-refs"):
            try:
                found = (self.path / ".git" / name).stat()
                marks.append((found.st_ino, found.st_mtime_ns, found.st_size))
            except FileNotFoundError:
                marks.append(None)
        return tuple(marks)

    def add(self, text: str, *, author: str, after_iteration: int) -> SteeringNote:
        """Record a note; WorkspaceError (one line) for an empty or oversized text or name."""
        body = _clean(text, "the steering note", TEXT_MAX)
        name = " ".join(_clean(author, "the author's name", 200).split())
        if after_iteration < 0:
            raise WorkspaceError(f"after_iteration must be >= 0, got {after_iteration}")
        tree = self._git("hash-object", "-t", "tree", "-w", "--stdin").strip()
        message = _message(body, name, after_iteration).encode("utf-8")
        for _ in range(_RETRIES):
            head = self._head()
            parents = ["-p", head] if head else []
            sha = self._git("commit-tree", "--no-gpg-sign", tree, *parents, "-F", "-",
                            stdin=message).strip()
            # The old value ("" = must not exist yet) makes this a compare-and-swap.
            if self._try_git("update-ref", "-m", "adrs: steering note", STEERING_REF, sha,
                             head or ""):
                self._read = None  # what was cached is older than this note
                return self.notes()[-1]
        raise WorkspaceError("could not record the steering note: the notes kept changing")

    def _head(self) -> str | None:
        return self._git("for-each-ref", "--format=%(objectname)", STEERING_REF).strip() or None

    def _run(self, args: tuple[str, ...], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["git", "-C", str(self.path), *args], input=stdin,
                              capture_output=True, env={**os.environ, **_IDENTITY})

    def _try_git(self, *args: str) -> bool:
        return self._run(args, b"").returncode == 0

    def _git(self, *args: str, stdin: bytes = b"") -> str:
        result = self._run(args, stdin)
        if result.returncode != 0:
            detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
            raise WorkspaceError(f"git {args[0]} failed: {detail[-1] if detail else 'no output'}")
        return result.stdout.decode("utf-8")
