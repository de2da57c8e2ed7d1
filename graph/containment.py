"""How a run evaluates its candidates: the isolation it insists on, and the evaluation tool.

Code written by a model (any brain but the offline one, which only edits numbers in the user's own
program) never runs with resource limits alone: without a working isolation mechanism the run
refuses to start, naming the one command that fixes it, unless it was started with
--unsafe-no-isolation. Either way every commit records the isolation its candidate ran under.
"""

from __future__ import annotations

from pathlib import Path

from adrs.graph.rundir import RunError
from adrs.graph.settings import RunSettings
from adrs.tools.evaluation import EvaluationTool, default_limits, evaluator_setup
from adrs.tools.executors import ExecutorError, RayExecutor
from adrs.tools.isolation import Isolation, IsolationError, current
from adrs.tools.problem import Problem

UNSAFE_FLAG = "--unsafe-no-isolation"


def require_isolation(settings: RunSettings) -> Isolation:
    """The machine's isolation, or a one-line RunError when these settings cannot accept it."""
    try:
        isolation = current()
    except IsolationError as exc:
        raise RunError(str(exc)) from exc
    if settings.writes_code and not isolation.jailed and not settings.unsafe_no_isolation:
        raise RunError(f"no isolation for code written by a model ({isolation.reason}); "
                       f"fix: {isolation.remedy}, or pass {UNSAFE_FLAG} to run it with "
                       "resource limits only")
    return isolation


def describe(isolation: Isolation, settings: RunSettings) -> str:
    """The Isolation trailer of every commit: the mechanism, and the flag if it was given."""
    return isolation.kind + (f" ({UNSAFE_FLAG})" if settings.unsafe_no_isolation else "")


def evaluation_tool(problem: Problem, settings: RunSettings) -> EvaluationTool:
    """The run's tool: a warm pool of `width` jailed workers here, or as many Ray actors; the
    evaluator sees the user's data (`--data`) read-only, named by $ADRS_DATA_DIR."""
    data = Path(settings.data_dir) if settings.data_dir else None
    if settings.executor == "local":
        return EvaluationTool(problem, workers=settings.width, data_dir=data)
    try:
        executor = RayExecutor(problem.root, default_limits(problem), size=settings.width,
                               setup=evaluator_setup(problem, data),
                               address=settings.ray_address,
                               require_isolation=settings.writes_code and not settings.unsafe_no_isolation)
    except ExecutorError as exc:
        raise RunError(str(exc)) from exc
    return EvaluationTool(problem, executor=executor, data_dir=data)


def isolation_line(settings: RunSettings) -> str:
    """What `adrs run` and `adrs resume` say about the isolation, in one line (or a RunError)."""
    isolation = require_isolation(settings)
    if isolation.jailed:
        return isolation.reason
    return "none: resource limits only" + (f" ({UNSAFE_FLAG})" if settings.unsafe_no_isolation else "")
