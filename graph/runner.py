"""Create, drive and resume a run (see graph/rundir.py for what a run directory holds)."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing, nullcontext
from pathlib import Path
from typing import Any

from langgraph.types import StateSnapshot

from adrs.agents.interface import (
    ModelSetupError,
    SearchConfigError,
    SearchStrategy,
    Team,
    count_constants,
    island_search,
)
from adrs.agents.interface import build_team as build_agents
from adrs.agents.interface import probe_models as probe_agents
from adrs.graph import health
from adrs.graph.builder import build_graph
from adrs.graph.containment import describe, evaluation_tool, require_isolation
from adrs.graph.context import RunContext
from adrs.graph.pipeline import Pipeline
from adrs.graph.review import Answerer, resume_command
from adrs.graph.rundir import THREAD, Run, RunError, RunPaths, open_run
from adrs.graph.settings import RunSettings, replay_settings
from adrs.graph.state import RunInput
from adrs.tools.baseline import ProblemWarning, score_twice
from adrs.tools.evaluation import EvaluationTool
from adrs.tools.layouts import LAYOUT_FILE
from adrs.tools.problem import Problem
from adrs.workspace.messages import CandidateMessage
from adrs.workspace.objects import pack_loose_objects
from adrs.workspace.repository import RunRepository, WorkspaceError


def build_team(settings: RunSettings, run_root: Path | None = None) -> Team:
    """The team the settings describe: the offline brain, or the model brain recording into the
    run at `run_root`. A model brain that cannot work at all is a one-line RunError."""
    try:
        return build_agents(settings.brain, settings.model, run_root=run_root)
    except ModelSetupError as exc:
        raise RunError(str(exc)) from exc


def probe_models(settings: RunSettings) -> RunSettings:
    """The settings with what each model's endpoint accepts (a short request per model, before
    the run is created); a refusal no fallback fixes is a one-line RunError."""
    if settings.model is None:
        return settings
    try:
        return settings.model_copy(update={"model": probe_agents(settings.model)})
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


def create_run(problem: Problem, settings: RunSettings, run_dir: Path, *,
               notify: Callable[[str], None] | None = None) -> RunPaths:
    """Score the baseline, then lay out the run: root commit, baseline commit, settings.

    The baseline is scored first so that a broken problem fails before anything is written. The
    layout is built in a hidden sibling folder and renamed into place, so a process killed midway
    leaves no half-made run where `adrs run` or `adrs resume` would trip over it. What the user
    should know about the problem (an unseeded evaluator, a score made as a mean) goes to
    `notify`, once (default: a ProblemWarning).
    """
    final = RunPaths(run_dir.resolve())
    isolation = require_isolation(settings)  # before any model call and any file written
    build_strategy(problem)  # a bad [search] table fails before anything is written
    if final.root.exists() and not final.root.is_dir():
        raise RunError(f"run directory {run_dir} is a file, not a directory")
    if final.root.exists() and any(final.root.iterdir()):
        raise RunError(f"run directory {run_dir} already exists and is not empty; "
                       f"use `adrs resume {run_dir}` or pick another --run-dir")
    if settings.brain == "offline" and not problem.from_scratch \
            and count_constants(problem.initial_source) == 0:
        raise RunError(f"the offline brain tunes numeric constants, and the evolvable region of "
                       f"{problem.spec.evolve_file} has none: run {problem.name} with a model (--model)")
    # Scored twice, side by side: an evaluator that scores one program two ways is flagged.
    with evaluation_tool(problem, settings.model_copy(update={"width": 2})) as tool:
        check = score_twice(tool, problem.initial_source)
    baseline = check.first
    if not baseline.ok and not problem.from_scratch:
        raise RunError(f"the baseline of problem {problem.name} does not evaluate: "
                       f"{baseline.summary_line()}")
    for note in (check.warning(problem.name), baseline.score_note):
        if note:
            (notify or _warn)(note)
    final.root.parent.mkdir(parents=True, exist_ok=True)
    paths = RunPaths(final.root.parent / f".{final.root.name}.creating-{os.getpid()}")
    if paths.root.exists():
        shutil.rmtree(paths.root)  # left by an earlier attempt of this very process id
    # The layout file a run's copy of a problem carries is adrs's, not the problem's: a replay,
    # which starts from that copy, gets the root commit of the run it replays.
    repo = RunRepository.create(paths.root, problem.root, problem.name,
                                leave_out=frozenset({LAYOUT_FILE}))
    paths.meta.mkdir()
    with open(paths.root / ".git" / "info" / "exclude", "a", encoding="utf-8") as exclude:
        exclude.write("/.adrs/\n")
    problem.snapshot(paths.problem)
    baseline_id = repo.commit_baseline(problem.initial_source, CandidateMessage(
        summary=f"Baseline: {problem.spec.evolve_file} as given",
        hypothesis="The human baseline of the problem, scored before any change.",
        status="baseline", iteration=0, score=baseline.combined_score,  # 0.0 from scratch
        metrics=dict(baseline.metrics), per_workload=dict(baseline.per_workload),
        feedback="\n".join([f"error: {baseline.error}"] * (not baseline.ok)  # from scratch
                           + [f"{k}: {v}" for k, v in sorted(baseline.artifacts.items())]),
        operator="baseline", model="human", isolation=describe(isolation, settings)))
    repo.set_best(baseline_id)
    settings.save(paths.settings)  # written last: its presence marks a complete layout
    repo.close()
    try:
        os.rename(paths.root, final.root)  # atomic; replaces an empty folder left there
    except OSError as exc:
        raise RunError(f"cannot put the new run at {run_dir} ({exc.strerror}); "
                       f"it is complete at {paths.root}") from exc
    return final


def _warn(note: str) -> None:
    warnings.warn(note, ProblemWarning, stacklevel=3)


def execute(run_dir: Path, *, on_update: Callable[[str, dict[str, Any]], None] | None = None,
            settings_override: RunSettings | None = None, team: Team | None = None,
            tool: EvaluationTool | None = None, answerer: Answerer | None = None) -> dict[str, Any]:
    """Drive the run until it stops; picks up from the last checkpoint if there is one.

    `on_update(node, update)` sees every node's update (a slot's `commit` carries the line of
    the candidate it committed). `team` replaces the team the settings describe (tests drive
    scripted models this way); `tool` the sandboxed evaluation tool (benchmarks time the
    orchestration alone with an instant one); `answerer` answers the plans a reviewed run pauses
    on (without one the run stays paused, for a later `adrs resume`)."""
    with open_run(run_dir) as run:
        final = _final_state(run)
        if final is not None:  # no jail, model or team needed to say so
            return final
        return asyncio.run(_drive(run, on_update=on_update,
                                  settings=settings_override or run.settings, team=team, tool=tool,
                                  answerer=answerer))


def build_strategy(problem: Problem) -> SearchStrategy:
    """The search strategy, configured by the problem's [search] table."""
    try:
        return island_search((problem.spec.model_extra or {}).get("search"))
    except SearchConfigError as exc:
        raise RunError(f"problem {problem.name}: {exc}") from exc


async def _drive(run: Run, *, on_update: Callable[[str, dict[str, Any]], None] | None,
                 settings: RunSettings, team: Team | None,
                 tool: EvaluationTool | None, answerer: Answerer | None) -> dict[str, Any]:
    isolation = require_isolation(settings)
    paths, problem, repo = run.paths, run.problem, run.repository
    deadline = time.monotonic() + settings.max_minutes * 60 if settings.max_minutes else None
    team = team or build_team(settings, paths.root)
    own_tool = tool is None
    with run.locked(), ThreadPoolExecutor(settings.width * 2 + 2, "adrs") as pool, \
            (nullcontext(tool) if tool else evaluation_tool(problem, settings)) as tool:
        repo.clear_stale_locks()  # a killed run may have died inside a git command
        with run.checkpointer() as saver:
            graph = build_graph(saver)
            # A slot's steps per candidate: plan, code and critique per revision, evaluate, commit.
            steps = 2 * settings.max_revisions + 5
            config = {"configurable": THREAD, "recursion_limit": steps * settings.iterations + 100}
            snapshot = await graph.aget_state(config)
            values = snapshot.values
            if _finished(snapshot):
                return dict(values)  # finished while this process waited for the lock
            if own_tool:
                tool.warm_up()  # the workers start while the first plans are written
            pipeline = Pipeline(settings=settings, problem=problem, repository=repo, team=team,
                                strategy=build_strategy(problem), deadline=deadline)
            pipeline.start(repo.records())  # folds what git holds, replaying every choice
            team.spend.open(max_tokens=settings.max_tokens, max_dollars=settings.max_dollars,
                            usage=pipeline.usage)  # checked before every model call
            start: RunInput | None = None  # continue from the last checkpoint and its writes
            if not (snapshot.next or snapshot.tasks):
                # Not started, or killed before the first step was saved: (re)start.
                best = pipeline.database.best
                start = RunInput(baseline_id=pipeline.database.baseline.id, best_id=best.id,
                                 best_score=best.score)
            context = RunContext(settings=settings, problem=problem, repository=repo,
                                 tool=tool, team=team, pipeline=pipeline, pool=pool,
                                 isolation=describe(isolation, settings))
            try:
                while True:
                    stream = graph.astream(start, config, context=context, stream_mode="updates",
                                           subgraphs=True, durability="sync")
                    async with aclosing(stream):  # stop the slots before the database closes
                        async for _, chunk in stream:
                            for node, update in chunk.items():
                                if node == "commit":  # a candidate ran: is the repository whole?
                                    _check_repository(paths.root, health.quick_damage(paths.root, repo))
                                if on_update and isinstance(update, dict):
                                    on_update(node, update)
                    # A reviewed run pauses at each plan: go on with the person's answers.
                    start = resume_command(await graph.aget_state(config), answerer)
                    if start is None:
                        break
            except ModelSetupError as exc:
                raise RunError(f"{exc}; fix it, then `adrs resume {paths.root}`") from exc
            except WorkspaceError:
                _check_repository(paths.root, health.damage(paths.root))  # damage, said as such
                raise
            final = dict((await graph.aget_state(config)).values)
        if "stop_reason" in final:  # finished (a paused run writes more later): pack git's files
            pool.shutdown()  # after the best program's last ref move
            _pack(paths.root)
        return final


def finished_state(run_dir: Path) -> dict[str, Any] | None:
    """The last state of a run that has finished (nothing is left to do), else None."""
    with open_run(run_dir) as run:
        return _final_state(run)


def _final_state(run: Run) -> dict[str, Any] | None:
    with run.locked(), run.checkpointer() as saver:  # a run in use is refused, finished or not
        snapshot = build_graph(saver).get_state({"configurable": THREAD})
    return dict(snapshot.values) if _finished(snapshot) else None


def _finished(snapshot: StateSnapshot) -> bool:
    # A step that finished just before a kill has its writes saved but leaves `next` empty:
    # pending tasks, not `next`, say whether there is more to do.
    return not (snapshot.next or snapshot.tasks) and "stop_reason" in snapshot.values


def _pack(root: Path) -> None:
    complaint = pack_loose_objects(root)
    if complaint:
        warnings.warn(f"the run is complete, but git could not pack its objects ({complaint}); "
                      f"`git gc` in {root} retries", stacklevel=2)


def run_status(run_dir: Path) -> dict[str, Any]:
    """The last checkpointed state of a run (empty if it has not started)."""
    with open_run(run_dir) as run, run.checkpointer() as saver:
        return dict(build_graph(saver).get_state({"configurable": THREAD}).values)


def _check_repository(root: Path, problem: str | None) -> None:
    if problem is not None:
        raise RunError(health.damaged_message(root, problem))


