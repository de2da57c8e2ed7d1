"""Load and check a problem (see docs/problem-contract.md) into one `Problem`, whatever its layout.

tools/layouts.py says which file plays which part, tools/peer_config.py what a config.yaml adds,
tools/markers.py where the evolvable regions are. Nothing past this module knows which layout a
problem came from. Reading a problem never imports its evaluator: that happens only in the sandbox.
"""

from __future__ import annotations

import ast
import shutil
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from adrs.tools.layouts import LAYOUT_FILE, PROBLEM_TOML, Layout, LayoutError, detect, from_files
from adrs.tools.markers import CANONICAL_END, CANONICAL_START, MarkerError, find_regions
from adrs.tools.peer_config import PeerConfig, PeerConfigError, read_peer_config

EVOLVE_START = CANONICAL_START
EVOLVE_END = CANONICAL_END
DEFAULT_FORBIDDEN_IMPORTS = (
    "os", "sys", "subprocess", "socket", "ctypes", "shutil", "importlib", "signal",
    "multiprocessing", "threading", "pathlib", "inspect", "gc", "builtins",
)


class ProblemError(ValueError):
    """A problem folder that does not follow the contract; the message is one line."""


class Limits(BaseModel):
    """Resources one evaluation may use before the sandbox kills it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    timeout_seconds: float = Field(60.0, gt=0, description="Wall clock for one evaluation.")
    memory_mb: int = Field(2048, gt=0, description="Address-space limit of the evaluation.")


class Budget(BaseModel):
    """Defaults for `adrs run` on this problem."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    iterations: int = Field(30, gt=0)


class CriticRules(BaseModel):
    """Static rules the critic applies before any simulator time is spent."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    forbidden_imports: tuple[str, ...] = DEFAULT_FORBIDDEN_IMPORTS


class Evaluation(BaseModel):
    """How the evaluator is called: one `evaluate`, or the stages of a cascade."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    cascade: bool | None = Field(None, description="Run evaluate_stage1/2/3 in turn; None: when "
                                                    "evaluator.py defines evaluate_stage1.")
    cascade_thresholds: tuple[float, ...] = Field((), description="Score a stage must reach for "
                                                                  "the next one to run.")


class Environment(BaseModel):
    """What the evaluator needs besides adrs's own Python packages."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    requirements: tuple[str, ...] = Field((), description="pip requirements, on top of a "
                                                          "requirements.txt beside the evaluator.")
    variables: dict[str, str] = Field(default_factory=dict, description="Set for the evaluator.")
    pass_through: tuple[str, ...] = Field((), description="Copied from the user's environment "
                                                          "when set there.")


class ProblemSpec(BaseModel):
    """The parsed problem.toml; unknown tables (e.g. [workloads]) belong to the evaluator."""

    model_config = ConfigDict(frozen=True, extra="allow")
    name: str = Field(min_length=1)
    summary: str = ""
    evolve_file: str = "initial.py"
    evaluator_file: str = "evaluator.py"
    config_file: str | None = Field(None, description="A peer config.yaml read for defaults.")
    data: str | None = Field(None, description="Default data folder, relative to the problem.")
    timing_metrics: tuple[str, ...] = Field((), description="Metrics that measure wall time: "
                                                            "reported, never committed.")
    limits: Limits = Limits()
    budget: Budget = Budget()
    critic: CriticRules = CriticRules()
    evaluation: Evaluation = Evaluation()
    environment: Environment = Environment()

    @field_validator("evolve_file", "evaluator_file", "config_file")
    @classmethod
    def _inside_the_folder(cls, value: str | None) -> str | None:
        # The run copies the folder: a file outside it would not come along.
        if value is not None and (Path(value).is_absolute() or ".." in Path(value).parts):
            raise ValueError(f"{value} must be a path inside the problem folder")
        return value


class Problem(BaseModel):
    """A checked problem."""

    model_config = ConfigDict(frozen=True)
    root: Path
    layout: Layout
    spec: ProblemSpec
    description: str
    initial_source: str
    model_defaults: dict[str, Any] = Field(default_factory=dict,
                                           description="Model settings from config.yaml.")
    notices: tuple[str, ...] = Field((), description="Lines to tell the user once, at load.")

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def evaluator_path(self) -> Path:
        return self.root / self.spec.evaluator_file

    @property
    def from_scratch(self) -> bool:
        """No initial program was given: the baseline is an empty file (a model writes the first)."""
        return self.layout.from_scratch

    @property
    def evolve_suffix(self) -> str:
        return Path(self.spec.evolve_file).suffix or ".py"

    @property
    def default_data_dir(self) -> Path | None:
        return (self.root / self.spec.data).resolve() if self.spec.data else None

    @classmethod
    def load(cls, folder: str | Path) -> Problem:
        root = Path(folder).expanduser().resolve()
        if not root.is_dir():
            raise ProblemError(f"problem folder not found: {folder}")
        return _build(_guard(detect, root))

    @classmethod
    def from_files(cls, program: Path | None, evaluator: Path, config: Path | None) -> Problem:
        """SkyDiscover's invocation: explicit program (optional), evaluator and config files."""
        return _build(_guard(from_files, program, evaluator, config))

    def snapshot(self, target: Path) -> None:
        """Copy the problem into `target` (a run's own copy), recording its layout there."""
        shutil.copytree(self.root, target, ignore=shutil.ignore_patterns(
            "__pycache__", "*.pyc", LAYOUT_FILE))
        (target / LAYOUT_FILE).write_text(self.layout.to_toml(), encoding="utf-8")


def _guard(function, *args):
    try:
        return function(*args)
    except LayoutError as exc:
        raise ProblemError(str(exc)) from exc


def _build(layout: Layout) -> Problem:
    root = layout.root
    config = PeerConfig()
    toml_values = _read_toml(root / PROBLEM_TOML) if layout.has_toml else {}
    config_file = toml_values.get("config_file", layout.config_file)
    if isinstance(config_file, str):
        try:
            config = read_peer_config(root / config_file)
        except PeerConfigError as exc:
            raise ProblemError(str(exc)) from exc
    defaults = {"name": layout.name, "evolve_file": layout.evolve_file,
                "evaluator_file": layout.evaluator_file, "config_file": layout.config_file}
    spec = _validate(_merge(_merge(defaults, config.spec_values), toml_values), root)
    layout = replace(layout, name=spec.name, evolve_file=spec.evolve_file,
                     evaluator_file=spec.evaluator_file, config_file=spec.config_file)
    if layout.kind == "adrs":
        missing = [name for name in ("README.md", spec.evaluator_file) if not (root / name).is_file()]
        if missing:
            raise ProblemError(f"problem folder {root.name} is missing {', '.join(missing)}")
    evaluator = root / spec.evaluator_file
    if not evaluator.is_file():
        raise ProblemError(f"problem {spec.name}: evaluator {spec.evaluator_file} not found")
    _check_parses(_read_text(evaluator), f"problem {spec.name}: {spec.evaluator_file}")
    initial = "" if layout.from_scratch else _initial_source(root, spec)
    readme = _read_text(root / layout.readme) if layout.readme else ""
    notices = [f"{root.name}: {layout.describe()}"] if layout.kind != "adrs" else []
    notices += [line for line in [config.ignored_line(config_file or "")] if line]
    return Problem(root=root, layout=layout, spec=spec, initial_source=initial,
                   description=_description(spec, readme, config, config_file),
                   model_defaults=config.model_values, notices=tuple(notices))


def _initial_source(root: Path, spec: ProblemSpec) -> str:
    path = root / spec.evolve_file
    if not path.is_file():
        raise ProblemError(f"problem {spec.name}: evolve_file {spec.evolve_file} not found")
    source = _read_text(path)
    label = f"problem {spec.name}: {spec.evolve_file}"
    if path.suffix == ".py":
        _check_parses(source, label)
    try:
        find_regions(source)
    except MarkerError as exc:
        raise ProblemError(f"{label}: {exc}") from exc
    return source


def _description(spec: ProblemSpec, readme: str, config: PeerConfig, config_file: str | None) -> str:
    parts = [readme.strip()] if readme.strip() else []
    if config.system_message:
        parts.append(f"## From {config_file} (prompt.system_message)\n\n"
                     f"{config.system_message.strip()}")
    if not parts:
        parts.append(f"# {spec.name}\n\nNo README.md and no system message were given. "
                     f"{spec.evaluator_file} scores {spec.evolve_file}; higher combined_score "
                     "is better.")
    return "\n\n".join(parts) + "\n"


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`top` over `base`, table by table."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_text(path: Path) -> str:
    """A file of the problem as text, or a one-line ProblemError naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemError(f"{path.parent.name}/{path.name} is not UTF-8 text "
                           f"(byte {exc.start}: {exc.reason})") from exc
    except OSError as exc:
        raise ProblemError(f"cannot read {path.parent.name}/{path.name}: {exc.strerror}") from exc


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ProblemError(f"{path.parent.name}/{PROBLEM_TOML} is not valid TOML: {exc}") from exc


def _validate(values: dict[str, Any], root: Path) -> ProblemSpec:
    try:
        return ProblemSpec.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ProblemError(f"{root.name}/{PROBLEM_TOML}: {where}: {message}") from exc


def _check_parses(source: str, label: str) -> None:
    try:
        ast.parse(source)
    except SyntaxError as exc:
        raise ProblemError(f"{label} does not parse: line {exc.lineno}: {exc.msg}") from exc


def find_problem(name_or_path: str, search_roots: list[Path]) -> Problem:
    """A problem by path, or by name under one of the search roots."""
    candidate = Path(name_or_path).expanduser()
    if candidate.is_dir():
        return Problem.load(candidate)
    for root in search_roots:
        if (root / name_or_path).is_dir():
            return Problem.load(root / name_or_path)
    known = sorted({p.name for root in search_roots if root.is_dir()
                    for p in root.iterdir() if (p / PROBLEM_TOML).is_file()})
    raise ProblemError(f"unknown problem {name_or_path!r}; known: {', '.join(known) or 'none'}")
