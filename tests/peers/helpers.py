"""Shared helpers of the peer-problem tests: the real CLI, fixture copies, run inspection."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from typer.testing import CliRunner

from adrs.cli import app
from adrs.workspace.database import ProgramDatabase
from adrs.workspace.repository import RunRepository

PEERS = Path(__file__).resolve().parents[1] / "fixtures" / "peers"
runner = CliRunner()


def adrs(*args: object, stdin: str | None = None) -> tuple[int, str]:
    """Run the CLI in-process; (exit code, output). An uncaught exception fails the test."""
    result = runner.invoke(app, [str(a) for a in args], input=stdin, env={"COLUMNS": "2000"})
    crashed = isinstance(result.exception, Exception) and not isinstance(result.exception, SystemExit)
    assert not crashed, f"uncaught {result.exception!r}\n{result.output}"
    return result.exit_code, result.output


def fixture(name: str, tmp_path: Path) -> Path:
    """A private copy of a fixture folder."""
    target = tmp_path / name
    shutil.copytree(PEERS / name, target)
    return target


def records(run_dir: Path):
    with RunRepository.open(run_dir) as repo:
        return ProgramDatabase.from_repository(repo).records


def error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: "), output
    return lines[-1]


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}
