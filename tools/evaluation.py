"""The evaluation tool: score one candidate program with the problem's evaluator, in the sandbox.

The evaluator (trusted) is imported only inside the sandboxed worker; this side writes the
candidate to a scratch folder, runs the worker and turns whatever came back into an
`EvaluationResult`. Nothing the candidate or the evaluator does makes `evaluate` raise.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import stat
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adrs.tools import requirements, results
from adrs.tools.problem import Problem, ProblemError
from adrs.tools.sandbox import SandboxLimits, SandboxOutcome, run_sandboxed
from adrs.tools.workdir import mirror

log = logging.getLogger(__name__)

WORKER_PATH = Path(__file__).with_name("_worker.py")
# What the worker loads by path besides itself (it runs without the adrs package).
WORKER_FILES = tuple(Path(__file__).with_name(name) for name in (
    "results.py", "cascade.py", "requirements.py", "peer_shims"))
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
    """Scores candidate programs of one problem; safe to call from several threads at once."""

    def __init__(self, problem: Problem, *, scratch_root: Path | None = None,
                 limits: SandboxLimits | None = None, data_dir: Path | None = None) -> None:
        """Installs the problem's requirements first (cached); a ProblemError if they cannot be.
        `data_dir`: the user's data, shown read-only and named by $ADRS_DATA_DIR."""
        self._problem = problem
        self._scratch_root = Path(scratch_root) if scratch_root is not None else None
        self._limits = limits or SandboxLimits(
            timeout_seconds=problem.spec.limits.timeout_seconds,
            memory_mb=problem.spec.limits.memory_mb)
        environment = problem.spec.environment
        try:
            self._python = requirements.interpreter_for(requirements.declared(
                problem.evaluator_path, environment.requirements), problem.name)
            self._env = requirements.variables(environment.variables, environment.pass_through,
                                               os.environ)
        except requirements.RequirementsError as exc:
            raise ProblemError(str(exc)) from exc
        self._read_only = [self._python.parent.parent] if self._python else []
        if data_dir is not None:
            self._env[DATA_ENV] = str(Path(data_dir).resolve())
            self._read_only.append(Path(data_dir).resolve())

    @property
    def limits(self) -> SandboxLimits:
        return self._limits

    def evaluate(self, program_source: str, *, split: Literal["train", "heldout"] = "train",
                 workloads: list[str] | None = None) -> EvaluationResult:
        """Score `program_source` on the training (or held-out) workloads, or a named subset."""
        if split not in FUNCTIONS:
            raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
        if workloads is not None and split != "train":
            raise ValueError("workloads selects training workloads; it cannot be used with 'heldout'")
        function = FUNCTIONS[split]
        kwargs = {} if workloads is None else {"workloads": [str(name) for name in workloads]}
        spec = self._problem.spec
        # The evaluator runs in a mirror of its own folder (tools/workdir.py).
        workdir = Path(spec.evaluator_file).parent
        options = {"cascade": spec.evaluation.cascade,
                   "thresholds": list(spec.evaluation.cascade_thresholds),
                   "workdir": workdir.as_posix()}
        if self._scratch_root is not None:
            self._scratch_root.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="adrs-eval-", dir=self._scratch_root))
        try:
            root = self._problem.root
            mirror(root, scratch)
            program = scratch / workdir / (PROGRAM_STEM + self._problem.evolve_suffix)
            program.parent.mkdir(parents=True, exist_ok=True)
            if os.path.lexists(program):
                program.unlink()  # a mirrored link: writing through it would change the problem
            # surrogatepass: odd text reaches the evaluator (which reports it) rather than raising here
            program.write_text(program_source, encoding="utf-8", errors="surrogatepass")
            argv = worker_argv(self._problem.evaluator_path, function, program, kwargs,
                               options=options, python=self._python)
            # The evaluator sees its problem folder; the candidate it launches must not.
            outcome = run_sandboxed(argv, cwd=scratch, limits=self._limits, env=self._env,
                                    read_only=[root, WORKER_PATH, *WORKER_FILES, *self._read_only],
                                    private=[root])
        finally:
            _remove_tree(scratch)
        return interpret(outcome, function=function, timeout_seconds=self._limits.timeout_seconds,
                         timing_metrics=spec.timing_metrics)


def worker_argv(evaluator: Path, function: str, program: Path, kwargs: dict, *,
                options: dict | None = None, python: Path | None = None) -> list[str]:
    # Not -I: it would ignore PYTHONHASHSEED from the sandbox's (already clean) environment and
    # make set orders differ between runs; -s -P keep user site-packages and the cwd off sys.path.
    return [str(python or sys.executable), "-s", "-P", str(WORKER_PATH), str(evaluator), function,
            str(program), json.dumps(kwargs), json.dumps(options or {})]


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
        return _failed(EvaluationStatus.CRASH, f"{where}: {error}", duration, outcome,
                       traceback=str(report.get("traceback") or ""))
    return parse_value(report.get("value"), function=function, duration=duration,
                       timing_metrics=timing_metrics)


def parse_value(value: object, *, function: str, duration: float,
                timing_metrics: tuple[str, ...] = ()) -> EvaluationResult:
    """The evaluator's returned dict (as JSON-safe data) as a result (see tools/results.py)."""
    if not isinstance(value, dict):
        return EvaluationResult(status=EvaluationStatus.INVALID, duration_seconds=duration,
                                error=f"{function} returned {_type_name(value)}, not a dict")
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


def _type_name(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "None",
            bool: "a bool", int: "an int", float: "a float"}.get(type(value), type(value).__name__)


def _remove_tree(path: Path) -> None:
    """Delete a scratch folder, even one whose folders the candidate made unreadable."""
    try:
        os.chmod(path, stat.S_IRWXU)
        for root, dirs, _files in os.walk(path):  # top-down: fix a folder before entering it
            for name in dirs:
                folder = os.path.join(root, name)
                if not os.path.islink(folder):
                    os.chmod(folder, stat.S_IRWXU)
        shutil.rmtree(path)
    except OSError as exc:
        log.warning("could not remove scratch folder %s: %s", path, exc)
