"""One committed program as read back from git, and how its commit is checked."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from adrs.workspace.errors import WorkspaceError
from adrs.workspace.messages import CandidateMessage


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
