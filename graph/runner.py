"""Create, run and resume a run: the run directory, its lock and its checkpointer.

A run directory is a git repository (the workspace) plus `.adrs/`, which git ignores:
settings.json, checkpoints.sqlite (LangGraph's SQLite checkpointer), a snapshot of the problem
folder that evaluations use, a lock file so two processes never drive one run, and, with the
model brain, recordings/ (every model request and answer, for `adrs run --replay`).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver

from adrs.agents.model.errors import ModelSetupError
from adrs.agents.model.recording import RECORDINGS_DIR
from adrs.agents.offline import offline_team
from adrs.agents.roles import Team
from adrs.graph.builder import build_graph
from adrs.graph.context import RunContext
from adrs.graph.settings import RunSettings, SettingsError, replay_settings
from adrs.graph.state import RunInput
from adrs.tools.evaluation import EvaluationTool
from adrs.tools.isolation import IsolationError, current as current_isolation
from adrs.tools.problem import Problem
from adrs.workspace.messages import CandidateMessage
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


def build_team(settings: RunSettings, run_root: Path | None = None) -> Team:
    """The offline brain, or the model brain (recording into the run at `run_root`)."""
    if settings.brain == "offline":
        return offline_team()
    if settings.brain == "model" and settings.model is not None:
        from adrs.agents.model.team import model_team  # loads the OpenAI client only when needed
        try:
            return model_team(settings.model, run_root=run_root)
        except ModelSetupError as exc:
            raise RunError(str(exc)) from exc
    raise SettingsError(f"unknown brain {settings.brain!r}")


def replay_source(recorded_run: Path) -> tuple[Problem, RunSettings]:
    """The problem and settings to replay a recorded run with (see settings.replay_settings)."""
    paths, settings, problem, repo = open_run(recorded_run)
    repo.close()
    if settings.model is not None and not paths.recordings.is_dir():
        raise RunError(f"run {recorded_run} has no recordings to replay "
                       "(it was run with --no-record)")
    return problem, replay_settings(settings, paths.root)


def create_run(problem: Problem, settings: RunSettings, run_dir: Path) -> RunPaths:
    """Score the baseline, then lay out the run: root commit, baseline commit, settings.

    The baseline is scored first so that a broken problem fails before anything is written. The
    layout is built in a hidden sibling folder and renamed into place, so a process killed midway
    leaves no half-made run where `adrs run` or `adrs resume` would trip over it.
    """
    final = RunPaths(run_dir.resolve())
    _check_sandbox()
    if final.root.exists() and not final.root.is_dir():
        raise RunError(f"run directory {run_dir} is a file, not a directory")
    if final.root.exists() and any(final.root.iterdir()):
        raise RunError(f"run directory {run_dir} already exists and is not empty; "
                       f"use `adrs resume {run_dir}` or pick another --run-dir")
    baseline = EvaluationTool(problem).evaluate(problem.initial_source)
    if not baseline.ok:
        raise RunError(f"the baseline of problem {problem.name} does not evaluate: "
                       f"{baseline.summary_line()}")
    final.root.parent.mkdir(parents=True, exist_ok=True)
    paths = RunPaths(final.root.parent / f".{final.root.name}.creating-{os.getpid()}")
    if paths.root.exists():
        shutil.rmtree(paths.root)  # left by an earlier attempt of this very process id
    repo = RunRepository.create(paths.root, problem.root, problem.name)
    paths.meta.mkdir()
    with open(paths.root / ".git" / "info" / "exclude", "a", encoding="utf-8") as exclude:
        exclude.write("/.adrs/\n")
    shutil.copytree(problem.root, paths.problem,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    baseline_id = repo.commit_baseline(problem.initial_source, CandidateMessage(
        summary=f"Baseline: {problem.spec.evolve_file} as given",
        hypothesis="The human baseline of the problem, scored before any change.",
        status="baseline", iteration=0, score=baseline.combined_score,
        metrics=dict(baseline.metrics), per_workload=dict(baseline.per_workload),
        feedback="\n".join(f"{k}: {v}" for k, v in sorted(baseline.artifacts.items())),
        operator="baseline", model="human"))
    repo.set_best(baseline_id)
    settings.save(paths.settings)  # written last: its presence marks a complete layout
    repo.close()
    try:
        os.rename(paths.root, final.root)  # atomic; replaces an empty folder left there
    except OSError as exc:
        raise RunError(f"cannot put the new run at {run_dir} ({exc.strerror}); "
                       f"it is complete at {paths.root}") from exc
    return final


def open_run(run_dir: Path) -> tuple[RunPaths, RunSettings, Problem, RunRepository]:
    paths = RunPaths(Path(run_dir).resolve())
    if not paths.root.is_dir():
        raise RunError(f"no run at {run_dir}")
    if not paths.settings.is_file():
        raise RunError(f"{run_dir} is not a complete adrs run (no .adrs/settings.json)")
    settings = RunSettings.load(paths.settings)
    try:
        repo = RunRepository.open(paths.root)
    except WorkspaceError as exc:
        raise RunError(str(exc)) from exc
    return paths, settings, Problem.load(paths.problem), repo


@contextmanager
def locked(paths: RunPaths) -> Iterator[None]:
    """Hold the run's lock, or refuse at once: two processes must never interleave one run."""
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"run {paths.root} is in use by another adrs process") from None
        yield
    finally:
        os.close(fd)


def execute(run_dir: Path, *, on_update: Callable[[str, dict[str, Any]], None] | None = None,
            settings_override: RunSettings | None = None, team: Team | None = None) -> dict[str, Any]:
    """Drive the run until it stops; picks up from the last checkpoint if there is one.

    `team` replaces the team the settings describe (tests drive scripted models this way)."""
    paths, settings, problem, repo = open_run(run_dir)
    _check_sandbox()
    settings = settings_override or settings
    deadline = time.monotonic() + settings.max_minutes * 60 if settings.max_minutes else None
    context = RunContext(settings=settings, problem=problem, repository=repo,
                         tool=EvaluationTool(problem), team=team or build_team(settings, paths.root),
                         deadline=deadline)
    with locked(paths), _checkpointer(paths) as saver:
        repo.clear_stale_locks()  # a killed run may have died inside a git command
        graph = build_graph(saver)
        config = {"configurable": THREAD, "recursion_limit": 10 * settings.iterations + 100}
        snapshot = graph.get_state(config)
        values = snapshot.values
        # A step that finished just before a kill has its writes saved but leaves `next` empty:
        # pending tasks, not `next`, say whether there is more to do.
        if snapshot.next or snapshot.tasks:
            start: RunInput | None = None  # continue from the last checkpoint and its writes
        elif "stop_reason" in values:
            return dict(values)  # finished already
        else:
            # Not started, or killed before the first step was saved: (re)start at plan, from
            # whatever progress the state already records.
            baseline = values.get("baseline_id") or repo.resolve("baseline")
            best = values.get("best_id") or baseline
            start = RunInput(baseline_id=baseline, best_id=best,
                             best_score=values.get("best_score", _score_of(repo, best)))
        try:
            for chunk in graph.stream(start, config, context=context, stream_mode="updates",
                                      durability="sync"):
                for node, update in chunk.items():
                    if on_update and isinstance(update, dict):
                        on_update(node, update)
        except ModelSetupError as exc:
            raise RunError(f"{exc}; fix it, then `adrs resume {run_dir}`") from exc
        return dict(graph.get_state(config).values)


def run_status(run_dir: Path) -> dict[str, Any]:
    """The last checkpointed state of a run (empty if it has not started)."""
    paths, *_ = open_run(run_dir)
    with _checkpointer(paths) as saver:
        return dict(build_graph(saver).get_state({"configurable": THREAD}).values)


def _check_sandbox() -> None:
    """Decide the sandbox up front: a bad $ADRS_SANDBOX is one line, not a traceback mid-run."""
    try:
        current_isolation()
    except IsolationError as exc:
        raise RunError(str(exc)) from exc


@contextmanager
def _checkpointer(paths: RunPaths) -> Iterator[SqliteSaver]:
    connection = sqlite3.connect(paths.checkpoints, check_same_thread=False)
    try:
        _check_database(connection, paths)
        yield SqliteSaver(connection)
    finally:
        connection.close()


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


def _score_of(repo: RunRepository, commit_id: str) -> float:
    records = {record.id: record for record in repo.records()}
    score = records[commit_id].score
    if score is None:
        raise RunError("the baseline commit has no score")
    return score
