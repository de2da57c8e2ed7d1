"""Reading a run and the catalogue: `adrs log`, `show`, `best` and `problems`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from adrs.cli.common import app, console, fail, short_verdict, status_text
from adrs.graph.catalogue import catalogue
from adrs.workspace.database import ProgramDatabase
from adrs.workspace.repository import RunRepository, WorkspaceError

RunArgument = Annotated[Path, typer.Argument(help="The run directory.")]


@app.command("log")
def log_command(run_dir: RunArgument) -> None:
    """Every candidate: score, parent, verdict, rationale."""
    with _repository(run_dir) as repo:
        database = ProgramDatabase.from_repository(repo)
    table = Table(title=f"{run_dir}", show_lines=False)
    for column in ("key", "commit", "parent", "status", "score", "summary", "critic"):
        table.add_column(column, overflow="fold")
    by_id = {record.id: record for record in database.records}
    best_id = database.best.id
    for record in database.records:
        parent = by_id.get(record.parent_id or "")
        score = "" if record.score is None else f"{record.score:.4f}"
        star = " *" if record.id == best_id else ""
        table.add_row(record.key, record.id[:8], parent.key if parent else "-",
                      status_text(record.status), score + star, escape(record.summary),
                      escape(short_verdict(record.message.verdict)))
    console.print(table)


@app.command()
def show(run_dir: RunArgument,
         rev: Annotated[str, typer.Argument(help="Commit, key (i0007-s0), iteration, best or baseline.")] = "best") -> None:
    """One candidate: rationale, verdict, findings, metrics and its diff against its parent."""
    with _repository(run_dir) as repo:
        try:
            commit_id = repo.resolve(rev)
        except WorkspaceError as exc:
            fail(str(exc))
        record = {r.id: r for r in repo.records()}.get(commit_id)
        if record is None:
            fail(f"{rev} is not a program of this run")
        diff = repo.diff_to_parent(commit_id)
    message = record.message
    console.rule(f"{record.key}  {commit_id[:10]}  {status_text(record.status)}")
    console.print(f"[bold]{escape(message.summary)}[/]")
    for title, text in (("Hypothesis", message.hypothesis), ("Critic", message.verdict),
                        ("Findings", message.findings), ("Feedback", message.feedback)):
        if text:
            console.print(f"\n[bold]{title}[/]\n{escape(text)}")
    figures = Table("metric", "value", title="Figures")
    if message.score is not None:
        figures.add_row("combined_score", f"{message.score:.6g}")
    for name, value in sorted(message.metrics.items()):
        figures.add_row(name, f"{value:.6g}")
    console.print(figures)
    console.print(Syntax(diff, "diff", theme="ansi_dark") if diff else "(no change to program.py)")


@app.command()
def best(run_dir: RunArgument) -> None:
    """Print the best program found so far (pipe it to a file)."""
    with _repository(run_dir) as repo:
        record = ProgramDatabase.from_repository(repo).best
        typer.echo(repo.program_source(record.id), nl=False)
    Console(stderr=True).print(f"[dim]{record.key} {record.id[:10]} score {record.score:.4f}[/]")


@app.command()
def problems() -> None:
    """The problems adrs knows, one line each."""
    for entry in catalogue():
        line = f"(broken) {entry.error}" if entry.error else entry.summary
        typer.echo(f"{entry.name:<18} {line}")


@contextmanager
def _repository(run_dir: Path) -> Iterator[RunRepository]:
    try:
        repo = RunRepository.open(run_dir)
    except WorkspaceError as exc:
        fail(str(exc))
    with repo:
        yield repo
