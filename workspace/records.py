"""One committed program as read back from git, and how its commit is checked."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from adrs.workspace.errors import WorkspaceError
from adrs.workspace.messages import CandidateMessage
from adrs.workspace.objects import ObjectError, ObjectStore, parse_commit, parse_tree


@dataclass(frozen=True)
class ProgramRecord:
    """One committed program, as read back from git."""

    id: str
    parent_id: str | None  # None for the baseline (its git parent is the problem, not a program)
    key: str
    message: CandidateMessage
    program_blob: str

    def __hash__(self) -> int:  # the message holds dicts; the commit id identifies the record
        return hash(self.id)

    @property
    def status(self) -> str:
        return self.message.status

    @property
    def score(self) -> float | None:
        return self.message.score

    @property
    def iteration(self) -> int:
        return self.message.iteration

    @property
    def slot(self) -> int:
        return self.message.slot

    @property
    def island(self) -> int:
        return self.message.island

    @property
    def summary(self) -> str:
        return self.message.summary


def read_message(sha: str, key: str, text: str) -> CandidateMessage:
    """The message of the commit `sha` under ref key `key`; one-line WorkspaceError if bad."""
    try:
        return CandidateMessage.from_text(text)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError too
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise WorkspaceError(f"commit {sha[:12]} ({key}) has an unreadable message: {reason}") from exc


def check_placement(sha: str, space: str, key: str, message: CandidateMessage, *,
                    expected_key: str, baseline_key: str) -> None:
    """The ref a commit sits under must agree with its trailers."""
    if expected_key != key:
        raise WorkspaceError(f"commit {sha[:12]}: ref key {key} does not match its trailers")
    expected_space = "evaluated" if message.status == "baseline" else message.status
    if space != expected_space or (message.status == "baseline") != (key == baseline_key):
        raise WorkspaceError(f"commit {sha[:12]}: status {message.status} under refs/adrs/{space}")


def read_records(objects: ObjectStore, places: list[tuple[str, str, str]], *, root: str,
                 program_file: str, baseline_key: str) -> list[ProgramRecord]:
    """The records of program commits given as (commit, ref namespace, key): their commits in
    one pass through the object reader, then their trees in another, however many there are."""
    if not places:
        return []
    commits = [parse_commit(_expect(sha, found, "commit"))
               for (sha, _, _), found in zip(places, objects.read_many([p[0] for p in places]))]
    trees = objects.read_many([commit.tree for commit in commits])
    records = []
    for (sha, space, key), commit, tree in zip(places, commits, trees):
        message = read_message(sha, key, commit.message)
        check_placement(sha, space, key, message,
                        expected_key=program_key(message.iteration, message.slot),
                        baseline_key=baseline_key)
        blob = next((e.sha for e in parse_tree(_expect(commit.tree, tree, "tree"))
                     if e.name == program_file and not e.is_tree), None)
        if blob is None:
            raise WorkspaceError(f"commit {sha[:12]} has no {program_file}")
        parent = commit.parents[0] if commit.parents else None
        records.append(ProgramRecord(id=sha, parent_id=None if parent == root else parent,
                                     key=key, message=message, program_blob=blob))
    return records


def _expect(sha: str, found: tuple[str, bytes] | None, kind: str) -> bytes:
    if found is None or found[0] != kind:
        raise ObjectError(f"no git {kind} {sha}" if found is None
                          else f"{sha[:12]} is a {found[0]}, not a {kind}")
    return found[1]


def iteration_key(iteration: int) -> str:
    """The name of an iteration: i0007. The one place that spells the key format."""
    if iteration < 0:
        raise WorkspaceError(f"iteration must be >= 0, got {iteration}")
    return f"i{iteration:04d}"


def program_key(iteration: int, slot: int = 0) -> str:
    """The ref name of a program: i0007-s1 for iteration 7, slot 1."""
    if slot < 0:
        raise WorkspaceError(f"slot must be >= 0, got {slot}")
    return f"{iteration_key(iteration)}-s{slot}"
