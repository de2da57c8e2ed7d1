"""The evaluation tool: score one candidate program with the problem's evaluator, in the sandbox.

The evaluator (trusted) is imported only inside the jailed workers (tools/workers.py: warm, one
fork per evaluation; or a Ray cluster's, tools/executors.py); this side hands them the candidate
and turns whatever came back into an `EvaluationResult`. Nothing the candidate or the evaluator
does makes `evaluate` raise.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import weakref
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adrs.tools import requirements, results
from adrs.tools.executors import Executor
from adrs.tools.pool import WorkerPool
from adrs.tools.problem import Problem, ProblemError
from adrs.tools.sandbox import SandboxLimits, SandboxOutcome
from adrs.tools.workers import EvaluatorSetup, Request

log = logging.getLogger(__name__)

PROGRAM_STEM = "program"  # the candidate's file: program.py, or program.c for a C problem
DATA_ENV = "ADRS_DATA_DIR"
NOTES_KEY = "evaluation_notes"
CRASH_TEXT_CHARS = 4000
FUNCTIONS = {"train": "evaluate", "heldout": "evaluate_heldout"}
# Hints for the signals that the sandbox's limits produce.
SIGNAL_HINTS = {
    "SIGKILL": "killed, likely for memory or the hard CPU limit",
    "SIGSEGV": "segmentation fault",
    "SIGXCPU": "CPU time limit exceeded",
    "SIGXFSZ": "file size limit exceeded",
    "SIGABRT": "aborted",
}
# What an evaluator that writes to /tmp or beside its own file meets in the jail, and the way out.
READ_ONLY_ERROR = "Read-only file system"
READ_ONLY_HINT = " (in the sandbox only the working directory and $TMPDIR are writable)"


class EvaluationStatus(StrEnum):
    OK = "ok"
    INVALID = "invalid"
    TIMEOUT = "timeout"
    CRASH = "crash"


class EvaluationResult(BaseModel):
    """What one evaluation of a candidate found; only OK results carry a score."""

    model_config = ConfigDict(frozen=True)
    status: EvaluationStatus
    combined_score: float = Field(0.0, description="Higher is better; 0.0 unless status is ok.")
    metrics: dict[str, float] = Field(default_factory=dict, description="Other numeric results.")
    per_workload: dict[str, float] = Field(default_factory=dict,
                                           description="Combined score per workload.")
    artifacts: dict[str, str] = Field(default_factory=dict, description="Text feedback.")
    timings: dict[str, float] = Field(default_factory=dict,
                                      description="Wall times the evaluator reported, seconds.")
    error: str | None = Field(None, description="Why the status is not ok.")
    duration_seconds: float = Field(0.0, description="Wall time of the sandboxed run.")
    score_note: str | None = Field(None, description="How the score was made when the evaluator "
                                                     "gave no combined_score.")

    @model_validator(mode="after")
    def _score_only_when_ok(self) -> EvaluationResult:
        if self.status is not EvaluationStatus.OK and self.combined_score != 0.0:
            raise ValueError("combined_score must be 0.0 unless status is ok")
        if not math.isfinite(self.combined_score):
            raise ValueError("combined_score must be finite")
        return self

    @property
    def ok(self) -> bool:
        return self.status is EvaluationStatus.OK

    def summary_line(self) -> str:
        """One line for logs and prompts: "ok score=0.4132", "timeout after 60 s", "crash: ..."."""
        if self.ok:
            return f"ok score={self.combined_score:.4f}"
        reason = " ".join((self.error or "no reason given").split())
        if len(reason) > 200:
            reason = reason[:197] + "..."
        if self.status is EvaluationStatus.TIMEOUT:
            return f"timeout {reason.removeprefix('timed out ')}"
        return f"{self.status.value}: {reason}"


class EvaluationTool:
    """Scores candidate programs of one problem; safe to call from several threads at once.

    Evaluations go to `executor` when one is given (a Ray cluster), else to a pool of up to
    `workers` warm jailed workers on this machine, started at the first evaluation. `close()`
    (or leaving a `with` block) stops them; so does garbage collection.
    """

    def __init__(self, problem: Problem, *, scratch_root: Path | None = None,
                 limits: SandboxLimits | None = None, workers: int = 1,
                 executor: Executor | None = None, data_dir: Path | None = None) -> None:
        """Installs the problem's requirements first (cached); a ProblemError if they cannot be.
        `data_dir`: the user's data, shown read-only and named by $ADRS_DATA_DIR."""
        self._problem = problem
        self._scratch_root = Path(scratch_root) if scratch_root is not None else None
        self._limits = limits or default_limits(problem)
        self._workers = workers
        self._executor = executor
        self._lock = threading.Lock()
        self._data_dir = data_dir
        # An executor was built with its own setup (graph/containment.py): not computed twice.
        self._setup = evaluator_setup(problem, data_dir) if executor is None else None

    @property
    def limits(self) -> SandboxLimits:
        return self._limits

    def __enter__(self) -> EvaluationTool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.close()

    def _executor_now(self) -> Executor:
        with self._lock:
            if self._executor is None:
                pool = WorkerPool(self._problem.root, self._limits, size=self._workers,
                                  scratch_root=self._scratch_root,
                                  setup=self._setup or evaluator_setup(self._problem, self._data_dir))
                weakref.finalize(self, pool.close)
                self._executor = pool
            return self._executor

    def warm_up(self) -> None:
        """Start the local workers now, in the background (a run does, while its first plans
        are written), instead of one at a time as the first evaluations need them."""
        executor = self._executor_now()
        if isinstance(executor, WorkerPool):
            executor.warm_up()

    def evaluate(self, program_source: str, *, split: Literal["train", "heldout"] = "train",
                 workloads: list[str] | None = None) -> EvaluationResult:
        """Score `program_source` on the training (or held-out) workloads, or a named subset."""
        if split not in FUNCTIONS:
            raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
        if workloads is not None and split != "train":
            raise ValueError("workloads selects training workloads; it cannot be used with 'heldout'")
        function = FUNCTIONS[split]
        kwargs = {} if workloads is None else {"workloads": [str(name) for name in workloads]}
        outcome = self._executor_now().run(Request(function, program_source, kwargs))
        return interpret(outcome, function=function, timeout_seconds=self._limits.timeout_seconds,
                         timing_metrics=self._problem.spec.timing_metrics)


def evaluator_setup(problem: Problem, data_dir: Path | None = None) -> EvaluatorSetup:
    """How the problem's evaluator runs: in a mirror of its own folder, under the Python of the
    problem's declared requirements (installed once, cached), with its declared variables and the
    user's data. A ProblemError (one line) when the requirements cannot be installed."""
    spec = problem.spec
    environment = spec.environment
    try:
        python = requirements.interpreter_for(requirements.declared(
            problem.evaluator_path, environment.requirements), problem.name)
        env = requirements.variables(environment.variables, environment.pass_through, os.environ)
    except requirements.RequirementsError as exc:
        raise ProblemError(str(exc)) from exc
    read_only = [python.parent.parent] if python else []
    if data_dir is not None:
        env[DATA_ENV] = str(Path(data_dir).resolve())
        read_only.append(Path(data_dir).resolve())
    return EvaluatorSetup(
        evaluator=problem.evaluator_path.relative_to(problem.root).as_posix(),
        workdir=Path(spec.evaluator_file).parent.as_posix(),
        program_name=PROGRAM_STEM + problem.evolve_suffix,
        python=str(python or sys.executable), env=env, read_only=tuple(read_only),
        options={"cascade": spec.evaluation.cascade,
                 "thresholds": list(spec.evaluation.cascade_thresholds)})


def default_limits(problem: Problem) -> SandboxLimits:
    """What one evaluation may use, from the problem's problem.toml."""
    return SandboxLimits(timeout_seconds=problem.spec.limits.timeout_seconds,
                         memory_mb=problem.spec.limits.memory_mb)


def interpret(outcome: SandboxOutcome, *, function: str, timeout_seconds: float,
              timing_metrics: tuple[str, ...] = ()) -> EvaluationResult:
    """Map a sandbox outcome carrying the worker's report to an EvaluationResult (pure)."""
    duration = outcome.duration_seconds
    if outcome.status == "timeout":
        return _failed(EvaluationStatus.TIMEOUT, f"timed out after {timeout_seconds:g} s",
                       duration, outcome)
    if outcome.status == "signalled":
        name = outcome.signal_name or "an unknown signal"
        hint = SIGNAL_HINTS.get(name)
        message = f"killed by {name}" + (f" ({hint})" if hint else "")
        return _failed(EvaluationStatus.CRASH, message, duration, outcome)
    report = outcome.result
    if report is None:
        return _failed(EvaluationStatus.CRASH, _no_result_reason(outcome), duration, outcome)
    if report.get("missing_modules"):
        names = ", ".join(str(name) for name in report["missing_modules"])
        return _failed(EvaluationStatus.CRASH, f"the evaluator needs {names}, which its Python "
                       "does not have: declare the packages in a requirements.txt beside the "
                       "evaluator (or [environment] requirements in problem.toml)", duration, outcome)
    if report.get("missing_function"):
        return _failed(EvaluationStatus.INVALID, f"problem has no {report['missing_function']}",
                       duration, outcome)
    if not report.get("ok"):
        error = str(report.get("error") or "unknown error")
        where = ("evaluator.py raised at import" if report.get("phase") == "import"
                 else f"{function} raised")
        if READ_ONLY_ERROR in error:
            error += READ_ONLY_HINT
        return _failed(EvaluationStatus.CRASH, f"{where}: {error}", duration, outcome,
                       traceback=str(report.get("traceback") or ""))
    return parse_value(report.get("value"), function=function, duration=duration,
                       timing_metrics=timing_metrics)


def parse_value(value: object, *, function: str, duration: float,
                timing_metrics: tuple[str, ...] = ()) -> EvaluationResult:
    """The evaluator's returned dict (as JSON-safe data) as a result (see tools/results.py)."""
    if not isinstance(value, dict):
        return EvaluationResult(status=EvaluationStatus.INVALID, duration_seconds=duration,
                                error=f"{function} returned {results.type_name(value)}, not a dict")
    canonical = results.normalize(value, function=function, timing_metrics=timing_metrics)
    artifacts = canonical["artifacts"]
    if canonical["notes"]:
        artifacts[NOTES_KEY] = "; ".join(canonical["notes"])
    common = dict(metrics=canonical["metrics"], per_workload=canonical["per_workload"],
                  artifacts=artifacts, timings=canonical["timings"], duration_seconds=duration)
    if canonical["error"] is not None:
        return EvaluationResult(status=EvaluationStatus.INVALID, error=canonical["error"], **common)
    return EvaluationResult(status=EvaluationStatus.OK, combined_score=canonical["combined_score"],
                            score_note=canonical["score_note"], **common)


def _failed(status: EvaluationStatus, error: str, duration: float, outcome: SandboxOutcome,
            traceback: str = "") -> EvaluationResult:
    """A result without a score; the stderr tail and traceback go to artifacts for the planner."""
    artifacts: dict[str, str] = {}
    if traceback:
        artifacts["traceback"] = traceback
    if outcome.stderr_tail.strip():
        artifacts["stderr_tail"] = outcome.stderr_tail[-CRASH_TEXT_CHARS:]
    return EvaluationResult(status=status, error=error, artifacts=artifacts,
                            duration_seconds=duration)


def _no_result_reason(outcome: SandboxOutcome) -> str:
    if outcome.result_error:
        return f"evaluation wrote a bad result: {outcome.result_error}"
    lines = [line.strip() for line in outcome.stderr_tail.splitlines() if line.strip()]
    if lines:
        return lines[-1][:CRASH_TEXT_CHARS]
    return f"evaluation exited with code {outcome.returncode} and wrote no result"

