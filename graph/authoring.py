"""`adrs new` (a problem folder from a description and a simulator) and `adrs check` (does a
folder load, does its baseline score the same twice, how long does one evaluation take)."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from adrs.agents.interface import ModelCallFailed, ModelSettings, ModelSetupError, draft_problem
from adrs.graph.catalogue import load_problem
from adrs.graph.rundir import RunError
from adrs.tools.baseline import BaselineCheck, score_twice
from adrs.tools.evaluation import EvaluationTool
from adrs.tools.problem import Problem, ProblemError
from adrs.tools.scaffold import ScaffoldError, scaffold


@dataclass(frozen=True)
class NewProblem:
    folder: Path
    drafted_by: str  # "templates", or the model that drafted README.md and evaluator.py
    warnings: tuple[str, ...] = ()


def new_problem(name: str, *, description: str, simulator: Path, parent: Path,
                model: ModelSettings | None = None,
                chat_model: BaseChatModel | None = None) -> NewProblem:
    """Write problems/<name>: README.md, initial.py, evaluator.py, problem.toml, simulator.py.

    Nothing is created unless every file could be made (the folder appears whole or not at all).
    `chat_model` stands in for the model's client (tests)."""
    target = parent / name
    try:
        source = simulator.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemError(f"cannot read the simulator {simulator}: "
                           f"{getattr(exc, 'strerror', None) or exc}") from exc
    try:
        made = scaffold(name, description, source)  # checks the name first
    except ScaffoldError as exc:
        raise ProblemError(str(exc)) from exc
    if target.exists():
        raise ProblemError(f"{target} already exists; pick another name or move it away")
    files, drafted_by = made.files(), "templates"
    if model is not None:
        try:
            files["README.md"], files["evaluator.py"] = draft_problem(
                model, name=name, description=description, simulator=source,
                readme=made.readme, evaluator=made.evaluator, model=chat_model)
        except (ModelCallFailed, ModelSetupError) as exc:
            raise RunError(f"the model could not draft the problem: {exc}") from exc
        drafted_by = model.model_for("planner")
    _write_whole(target, files)
    return NewProblem(target, drafted_by, made.warnings)


def _write_whole(target: Path, files: dict[str, str]) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:  # e.g. --into names a file
        raise ProblemError(f"cannot create {target}: {exc.strerror or exc}") from exc
    try:
        for file_name, text in files.items():
            (building / file_name).write_text(text.rstrip("\n") + "\n", encoding="utf-8")
        os.chmod(building, 0o755)
        os.rename(building, target)
    except OSError as exc:
        raise ProblemError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(building, ignore_errors=True)


@dataclass(frozen=True)
class CheckReport:
    problem: Problem
    baseline: BaselineCheck


def check_problem(name_or_path: str, *, evaluator: str | None = None, config: Path | None = None,
                  data_dir: Path | None = None) -> CheckReport:
    """Load a problem (as `adrs run` would) and score its baseline twice, side by side."""
    problem = load_problem(name_or_path, evaluator, config)
    with EvaluationTool(problem, workers=2, data_dir=data_dir) as tool:
        return CheckReport(problem, score_twice(tool, problem.initial_source))
