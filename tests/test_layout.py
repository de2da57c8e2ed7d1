"""The layout rules that no import linter sees: stand-alone problem folders, small files, and a
package list in pyproject.toml that names every sub-package."""

from __future__ import annotations

import ast
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = {"adrs": "adrs", "adrs.agents": "agents", "adrs.graph": "graph",
                "adrs.tools": "tools", "adrs.workspace": "workspace", "adrs.problems": "problems"}
MAX_LINES = 400


def tracked_python_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.split()
    return [REPO / name for name in listed if (REPO / name).is_file()]


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((REPO / "problems").glob("*/*.py")), ids=lambda p: p.parent.name + "/" + p.name)
def test_a_problem_folder_imports_nothing_from_adrs(path):
    offending = sorted(name for name in imported_modules(path) if name.split(".")[0] == "adrs")
    assert not offending, f"{path.relative_to(REPO)} imports {offending}: problems stand alone"


def test_no_file_outside_problems_is_over_400_lines():
    long = {str(path.relative_to(REPO)): count for path in tracked_python_files()
            if path.relative_to(REPO).parts[0] != "problems"
            and (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


def test_pyproject_lists_every_package_and_maps_the_top_level_folders():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert config["package-dir"] == PACKAGE_DIRS
    found = set()
    for package, folder in PACKAGE_DIRS.items():
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / folder).parts
            found.add(".".join((package, *relative)))
    assert found == set(config["packages"]), "pyproject.toml's packages and the folders differ"
