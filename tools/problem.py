"""Load and check a problem folder (see docs/problem-contract.md).

Reading a problem never imports its evaluator: that happens only inside the sandbox.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

EVOLVE_START = "# EVOLVE-BLOCK-START"
EVOLVE_END = "# EVOLVE-BLOCK-END"
REQUIRED_FILES = ("README.md", "initial.py", "evaluator.py", "problem.toml")
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


class ProblemSpec(BaseModel):
    """The parsed problem.toml; unknown tables (e.g. [workloads]) belong to the evaluator."""

    model_config = ConfigDict(frozen=True, extra="allow")
    name: str = Field(min_length=1)
    summary: str = ""
    evolve_file: str = "initial.py"
    limits: Limits = Limits()
    budget: Budget = Budget()
    critic: CriticRules = CriticRules()


class Problem(BaseModel):
    """A checked problem folder."""

    model_config = ConfigDict(frozen=True)
    root: Path
    spec: ProblemSpec
    description: str
    initial_source: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def evaluator_path(self) -> Path:
        return self.root / "evaluator.py"

    @classmethod
    def load(cls, folder: str | Path) -> Problem:
        root = Path(folder).expanduser().resolve()
        if not root.is_dir():
            raise ProblemError(f"problem folder not found: {folder}")
        missing = [name for name in REQUIRED_FILES if not (root / name).is_file()]
        if missing:
            raise ProblemError(f"problem folder {root.name} is missing {', '.join(missing)}")
        spec = _read_spec(root / "problem.toml")
        initial_path = root / spec.evolve_file
        if not initial_path.is_file():
            raise ProblemError(f"problem {spec.name}: evolve_file {spec.evolve_file} not found")
        initial = _read_text(initial_path)
        _check_source(initial, f"problem {spec.name}: {spec.evolve_file}")
        _check_parses(_read_text(root / "evaluator.py"),
                      f"problem {spec.name}: evaluator.py")
        return cls(root=root, spec=spec, initial_source=initial,
                   description=_read_text(root / "README.md"))


def _read_text(path: Path) -> str:
    """A file of the problem as text, or a one-line ProblemError naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemError(f"{path.parent.name}/{path.name} is not UTF-8 text "
                           f"(byte {exc.start}: {exc.reason})") from exc
    except OSError as exc:
        raise ProblemError(f"cannot read {path.parent.name}/{path.name}: {exc.strerror}") from exc


def _read_spec(path: Path) -> ProblemSpec:
    try:
        data = tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ProblemError(f"{path.parent.name}/problem.toml is not valid TOML: {exc}") from exc
    data.setdefault("name", path.parent.name)
    try:
        return ProblemSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ProblemError(f"{path.parent.name}/problem.toml: {where}: {first['msg']}") from exc


def _check_parses(source: str, label: str) -> None:
    try:
        ast.parse(source)
    except SyntaxError as exc:
        raise ProblemError(f"{label} does not parse: line {exc.lineno}: {exc.msg}") from exc


def _check_source(source: str, label: str) -> None:
    _check_parses(source, label)
    lines = [line.strip() for line in source.splitlines()]
    if lines.count(EVOLVE_START) != 1 or lines.count(EVOLVE_END) != 1:
        raise ProblemError(f"{label} must mark one evolvable region with "
                           f"'{EVOLVE_START}' and '{EVOLVE_END}'")
    if lines.index(EVOLVE_START) > lines.index(EVOLVE_END):
        raise ProblemError(f"{label}: '{EVOLVE_END}' comes before '{EVOLVE_START}'")


def find_problem(name_or_path: str, search_roots: list[Path]) -> Problem:
    """A problem by path, or by name under one of the search roots."""
    candidate = Path(name_or_path).expanduser()
    if candidate.is_dir():
        return Problem.load(candidate)
    for root in search_roots:
        if (root / name_or_path).is_dir():
            return Problem.load(root / name_or_path)
    known = sorted({p.name for root in search_roots if root.is_dir()
                    for p in root.iterdir() if (p / "problem.toml").is_file()})
    raise ProblemError(f"unknown problem {name_or_path!r}; known: {', '.join(known) or 'none'}")
