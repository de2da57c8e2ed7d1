"""Create, drive and resume a run (see graph/rundir.py for what a run directory holds)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adrs.agents.interface import ModelSetupError, Team
from adrs.agents.interface import build_team as build_agents
from adrs.graph.builder import build_graph
from adrs.graph.context import RunContext
from adrs.graph.review import Answerer, resume_command
from adrs.graph.rundir import THREAD, Run, RunError, RunPaths, open_run
from adrs.graph.settings import RunSettings, replay_settings
from adrs.graph.state import RunInput
from adrs.tools.evaluation import EvaluationTool
from adrs.tools.isolation import IsolationError
from adrs.tools.isolation import current as current_isolation
from adrs.tools.problem import Problem
from adrs.workspace.messages import CandidateMessage
from adrs.workspace.repository import RunRepository


def build_team(settings: RunSettings, run_root: Path | None = None) -> Team:
    """The team the settings describe: the offline brain, or the model brain recording into the
    run at `run_root`. A model brain that cannot work at all is a one-line RunError."""
    try:
        return build_agents(settings.brain, settings.model, run_root=run_root)
    except ModelSetupError as exc:
        raise RunError(str(exc)) from exc


def replay_source(recorded_run: Path) -> tuple[Problem, RunSettings]:
    """The problem and settings to replay a recorded run with (see settings.replay_settings)."""
    with open_run(recorded_run) as run:
        paths, settings = run.paths, run.settings
    if settings.model is not None and not paths.recordings.is_dir():
        raise RunError(f"run {recorded_run} has no recordings to replay "
                       "(it was run with --no-record)")
    return run.problem, replay_settings(settings, paths.root)


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


def execute(run_dir: Path, *, on_update: Callable[[str, dict[str, Any]], None] | None = None,
            settings_override: RunSettings | None = None, team: Team | None = None,
            answerer: Answerer | None = None) -> dict[str, Any]:
    """Drive the run until it stops; picks up from the last checkpoint if there is one.

    `team` replaces the team the settings describe (tests drive scripted models this way).
    `answerer` answers the plans a reviewed run pauses on; without one the run stays paused."""
    with open_run(run_dir) as run:
        return _drive(run, on_update=on_update, settings=settings_override or run.settings,
                      team=team, answerer=answerer)


def _drive(run: Run, *, on_update: Callable[[str, dict[str, Any]], None] | None,
           settings: RunSettings, team: Team | None, answerer: Answerer | None) -> dict[str, Any]:
    _check_sandbox()
    paths, problem, repo = run.paths, run.problem, run.repository
    deadline = time.monotonic() + settings.max_minutes * 60 if settings.max_minutes else None
    context = RunContext(settings=settings, problem=problem, repository=repo,
                         tool=EvaluationTool(problem), team=team or build_team(settings, paths.root),
                         deadline=deadline)
    with run.locked(), run.checkpointer() as saver:
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
            while True:
                for chunk in graph.stream(start, config, context=context, stream_mode="updates",
                                          durability="sync"):
                    for node, update in chunk.items():
                        if on_update and isinstance(update, dict):
                            on_update(node, update)
                # A reviewed run pauses at each plan: go on with the person's answers.
                start = resume_command(graph.get_state(config), answerer)
                if start is None:
                    break
        except ModelSetupError as exc:
            raise RunError(f"{exc}; fix it, then `adrs resume {paths.root}`") from exc
        return dict(graph.get_state(config).values)


def run_status(run_dir: Path) -> dict[str, Any]:
    """The last checkpointed state of a run (empty if it has not started)."""
    with open_run(run_dir) as run, run.checkpointer() as saver:
        return dict(build_graph(saver).get_state({"configurable": THREAD}).values)


def _check_sandbox() -> None:
    """Decide the sandbox up front: a bad $ADRS_SANDBOX is one line, not a traceback mid-run."""
    try:
        current_isolation()
    except IsolationError as exc:
        raise RunError(str(exc)) from exc


def _score_of(repo: RunRepository, commit_id: str) -> float:
    records = {record.id: record for record in repo.records()}
    score = records[commit_id].score
    if score is None:
        raise RunError("the baseline commit has no score")
    return score
