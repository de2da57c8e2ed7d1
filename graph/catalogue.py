"""Problems by name: the built-in ones (shipped in the package) and those in ./problems; or by
folder; or, as SkyDiscover takes them, as files: `[PROGRAM] EVALUATOR [-c config.yaml]`."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from adrs.tools.problem import Problem, ProblemError, find_problem

PEER_CONFIG_SUFFIXES = (".yaml", ".yml")


def builtin_problems() -> Path:
    """The folder of the problems shipped with adrs (package data of adrs.problems)."""
    return Path(str(resources.files("adrs.problems")))


def problem_roots() -> list[Path]:
    """Where a problem name is looked up, first match wins: ./problems, then the built-ins."""
    return [Path.cwd() / "problems", builtin_problems()]


def load_problem(name_or_path: str, evaluator: str | None = None,
                 config: Path | None = None) -> Problem:
    """A problem by folder path or by name, or from files; a one-line ProblemError otherwise.

    `adrs run PROGRAM EVALUATOR`, `adrs run EVALUATOR.py` and a peer `config` (YAML) name files;
    a folder or a name is read as a folder, whose own config.yaml is found there."""
    path = Path(name_or_path).expanduser()
    if evaluator is not None:
        return Problem.from_files(path, Path(evaluator).expanduser(), config)
    if path.is_file():
        return Problem.from_files(None, path, config)
    if config is not None:
        raise ProblemError(f"-c {config.name} goes with files (adrs run PROGRAM EVALUATOR -c "
                           f"{config.name}); the folder {name_or_path} reads its own config.yaml")
    return find_problem(name_or_path, problem_roots())


def is_peer_config(path: Path | None) -> bool:
    """A YAML config is a peer problem's (SkyDiscover's `-c`); TOML is adrs's own --config."""
    return path is not None and path.suffix.lower() in PEER_CONFIG_SUFFIXES


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    summary: str
    error: str | None = None  # why the folder does not load, if it does not


def catalogue() -> list[CatalogueEntry]:
    """Every problem adrs can find, one entry per name (./problems shadows a built-in); a peer's
    folder (evaluator.py, no problem.toml) counts too."""
    entries: dict[str, CatalogueEntry] = {}
    for root in problem_roots():
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            if folder.name in entries or not any((folder / name).is_file()
                                                 for name in ("problem.toml", "evaluator.py")):
                continue
            try:
                problem = Problem.load(folder)
                summary = problem.spec.summary or next(iter(problem.notices), "")
                entries[folder.name] = CatalogueEntry(folder.name, summary)
            except ProblemError as exc:
                entries[folder.name] = CatalogueEntry(folder.name, "", str(exc))
    return list(entries.values())
