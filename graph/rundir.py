"""A run directory, opened as one object: its paths, settings, problem, repository, lock and
checkpointer. Use it as a context manager; closing it stops git's helper processes.

A run directory is a git repository (the workspace) plus `.adrs/`, which git ignores:
settings.json, checkpoints.sqlite (LangGraph's SQLite checkpointer), a snapshot of the problem
folder that evaluations use, a lock file so two processes never drive one run, and, with the
model brain, recordings/ (every model request and answer, for `adrs run --replay`).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from adrs.agents.interface import RECORDINGS_DIR
from adrs.graph import health
from adrs.graph.checkpoints import InlineSqliteSaver
from adrs.graph.settings import RunSettings
from adrs.tools.problem import Problem
from adrs.workspace.repository import RunRepository, WorkspaceError

THREAD = {"thread_id": "run"}  # one run per checkpoint database


class RunError(RuntimeError):
    """A run that cannot be created, opened or continued; the message is one line."""


@dataclass(frozen=True)
class RunPaths:
    root: Path

    @property
    def meta(self) -> Path:
        return self.root / ".adrs"

    @property
    def settings(self) -> Path:
        return self.meta / "settings.json"

    @property
    def checkpoints(self) -> Path:
        return self.meta / "checkpoints.sqlite"

    @property
    def problem(self) -> Path:
        return self.meta / "problem"

    @property
    def lock(self) -> Path:
        return self.meta / "lock"

    @property
    def recordings(self) -> Path:
        return self.root / RECORDINGS_DIR


@dataclass
class Run:
    """An open run. `with open_run(path) as run:` closes its repository on the way out."""

    paths: RunPaths
    settings: RunSettings
    problem: Problem
    repository: RunRepository

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.repository.close()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run's lock, or refuse at once: two processes must never drive one run."""
        with locked(self.paths):
            yield

    @contextmanager
    def checkpointer(self) -> Iterator[InlineSqliteSaver]:
        """LangGraph's SQLite checkpointer on the run's database, checked before use; it serves
        the async graph too (graph/checkpoints.py). Write-ahead logging with synchronous=NORMAL:
        a killed process loses nothing that was committed; only a power cut may lose the last
        checkpoints, which a resume then redoes (every step is idempotent)."""
        connection = sqlite3.connect(self.paths.checkpoints, check_same_thread=False)
        try:
            _check_database(connection, self.paths)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            yield InlineSqliteSaver(connection)
        finally:
            connection.close()


def open_run(run_dir: Path) -> Run:
    paths = RunPaths(Path(run_dir).resolve())
    if not paths.root.is_dir():
        raise RunError(f"no run at {run_dir}")
    if not paths.settings.is_file():
        raise RunError(f"{run_dir} is not a complete adrs run (no .adrs/settings.json)")
    settings = RunSettings.load(paths.settings)
    problem = Problem.load(paths.problem)
    try:
        repo = RunRepository.open(paths.root)
    except WorkspaceError as exc:
        damage = health.damage(paths.root) if (paths.root / ".git").exists() else None
        raise RunError(health.damaged_message(paths.root, damage) if damage else str(exc)) from exc
    return Run(paths=paths, settings=settings, problem=problem, repository=repo)


@contextmanager
def locked(paths: RunPaths) -> Iterator[None]:
    """Hold the run's lock (an flock on .adrs/lock), or raise RunError at once."""
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"run {paths.root} is in use by another adrs process") from None
        yield
    finally:
        os.close(fd)


def _check_database(connection: sqlite3.Connection, paths: RunPaths) -> None:
    """A damaged checkpoint database stops the run with one line, before anything is written."""
    try:
        verdict = connection.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise RunError(f"run {paths.root}: {paths.checkpoints.name} is damaged ({exc}); "
                       f"its commits are safe in git") from exc
    if verdict is None or verdict[0] != "ok":
        raise RunError(f"run {paths.root}: {paths.checkpoints.name} is damaged "
                       f"({verdict[0] if verdict else 'no verdict'}); its commits are safe in git")
