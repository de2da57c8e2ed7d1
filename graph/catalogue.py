"""Problems by name: the built-in ones (shipped in the package) and those in ./problems."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from adrs.tools.problem import Problem, ProblemError, find_problem


def builtin_problems() -> Path:
    """The folder of the problems shipped with adrs (package data of adrs.problems)."""
    return Path(str(resources.files("adrs.problems")))


def problem_roots() -> list[Path]:
    """Where a problem name is looked up, first match wins: ./problems, then the built-ins."""
    return [Path.cwd() / "problems", builtin_problems()]


def load_problem(name_or_path: str) -> Problem:
    """A problem by folder path or by name; a one-line ProblemError otherwise."""
    return find_problem(name_or_path, problem_roots())


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    summary: str
    error: str | None = None  # why the folder does not load, if it does not


def catalogue() -> list[CatalogueEntry]:
    """Every problem adrs can find, one entry per name (./problems shadows a built-in)."""
    entries: dict[str, CatalogueEntry] = {}
    for root in problem_roots():
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            if folder.name in entries or not (folder / "problem.toml").is_file():
                continue
            try:
                entries[folder.name] = CatalogueEntry(folder.name, Problem.load(folder).spec.summary)
            except ProblemError as exc:
                entries[folder.name] = CatalogueEntry(folder.name, "", str(exc))
    return list(entries.values())
