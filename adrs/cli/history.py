"""Reading a run and the catalogue: `adrs log`, `show`, `best` and `problems`."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from adrs.cli.common import app, console, fail, short_verdict, status_text
from adrs.graph.catalogue import catalogue
from adrs.workspace.database import ProgramDatabase
from adrs.workspace.repository import ProgramRecord, RunRepository, WorkspaceError

STATUSES = ("baseline", "evaluated", "rejected", "failed")
RunArgument = Annotated[Path, typer.Argument(help="The run directory.")]


@app.command("log")
def log_command(
    run_dir: RunArgument,
    wide: Annotated[bool, typer.Option("--wide", help="Whole summaries, the commit, island, "
                                                      "operator and critic.")] = False,
    status: Annotated[Optional[list[str]], typer.Option(help="Only this status (repeatable): "
                                                             "baseline, evaluated, rejected, failed.")] = None,
    island: Annotated[Optional[int], typer.Option(help="Only this island.")] = None,
    top: Annotated[Optional[int], typer.Option(help="Only the N best scored programs, best first.")] = None,
) -> None:
    """Every candidate: score, parent, status, rationale (one line each; --wide for all of it)."""
    unknown = sorted(set(status or ()) - set(STATUSES))
    if unknown:
        fail(f"unknown status {unknown[0]} (expected one of {', '.join(STATUSES)})")
    if top is not None and top < 1:
        fail(f"--top must be at least 1, got {top}")
    with _repository(run_dir) as repo:
        database = ProgramDatabase.from_repository(repo)
    by_id = {record.id: record for record in database.records}
    best_id = database.best.id
    shown = database.top(top, island) if top is not None else [
        r for r in database.records if island is None or r.island == island]
    shown = [r for r in shown if not status or r.status in status]
    if wide:  # one print for all: Rich costs per call, and thousands of calls took seconds
        console.print("\n".join(_whole(record, by_id.get(record.parent_id or ""),
                                       record.id == best_id) for record in shown),
                      highlight=False, emoji=False, soft_wrap=True)  # the terminal wraps long lines
    else:
        console.print(_log_table(str(run_dir), shown, by_id, best_id,
                                 with_island=len({r.island for r in database.records}) > 1),
                      highlight=False, emoji=False, soft_wrap=True)
    if not shown:
        console.print("[dim]no program matches[/]")


def _log_table(title: str, shown: list[ProgramRecord], by_id: dict[str, ProgramRecord],
               best_id: str, with_island: bool) -> str:
    """One line per program, as console markup; the summary gets what the other columns leave
    and is cut there. Laid out here rather than by a Rich Table, whose layout of thousands of
    rows took seconds."""
    rows = []
    for record in shown:
        parent = by_id.get(record.parent_id or "")
        score = "" if record.score is None else f"{record.score:.4f}"
        rows.append((record.key, parent.key if parent else "-",
                     *((str(record.island),) if with_island else ()), record.status,
                     score + (" *" if record.id == best_id else ""), record.summary))
    names = ("key", "parent", *(("isl",) if with_island else ()), "status", "score")
    widths = [max([len(name), *(len(row[i]) for row in rows)]) for i, name in enumerate(names)]
    gap, at = "   ", names.index("status")
    room = max(16, console.width - sum(widths) - len(gap) * len(names))

    def line(cells: tuple[str, ...], coloured: bool) -> str:
        *fixed, summary = cells
        padded = [escape(cell.rjust(width) if name in ("isl", "score") else cell.ljust(width))
                  for name, cell, width in zip(names, fixed, widths)]
        if coloured:  # the markup goes around the padded word: it takes no room
            padded[at] = status_text(fixed[at]) + " " * (widths[at] - len(fixed[at]))
        fits = cell_len(summary) <= room  # in terminal cells: a wide character takes two
        cut = summary if fits else set_cell_size(summary, room - 1).rstrip() + "…"
        return gap.join([*padded, escape(cut)]).rstrip()

    rule = "─" * min(console.width, sum(widths) + len(gap) * len(names) + room)
    return "\n".join([f"[bold]{escape(title)}[/]", f"[bold]{line((*names, 'summary'), False)}[/]",
                      f"[dim]{rule}[/]", *(line(row, True) for row in rows)])


def _whole(record: ProgramRecord, parent: ProgramRecord | None, best: bool) -> str:
    """Everything `log` knows of a program, as console markup over as many lines as it takes."""
    score = "" if record.score is None else f"  {record.score:.4f}" + (" (best)" if best else "")
    lines = [f"[bold]{record.key}[/] [dim]{record.id[:10]}[/]  from "
             f"{parent.key if parent else '-'}  island {record.island}  "
             f"{status_text(record.status)}{score}  [dim]{escape(record.message.operator)}[/]",
             f"  {escape(record.summary)}"]
    if record.message.verdict:
        lines.append(f"  [dim]critic:[/] {escape(short_verdict(record.message.verdict))}")
    if record.message.review:
        lines.append(f"  [dim]review:[/] {escape(record.message.review.describe())}")
    return "\n".join(lines)


@app.command()
def show(run_dir: RunArgument,
         rev: Annotated[str, typer.Argument(help="Commit, key (i0007-s0), iteration, best or baseline.")] = "best",
         other: Annotated[Optional[str], typer.Argument(help="A second program: show the diff "
                                                             "from REV to it.", show_default=False)] = None) -> None:
    """One candidate: rationale, verdict, findings, metrics and its diff against its parent;
    with two revisions, the diff between the two programs."""
    with _repository(run_dir) as repo:
        try:
            commit_id = repo.resolve(rev)
            other_id = repo.resolve(other) if other is not None else None
        except WorkspaceError as exc:
            fail(str(exc))
        record = _program(repo, rev)  # this one program is read, not the whole run
        if other is not None and other_id is not None:
            _show_two(record, _program(repo, other), repo.program_source(commit_id),
                      repo.program_source(other_id))
            return
        diff = repo.diff_to_parent(commit_id)
    message = record.message
    console.rule(f"{record.key}  {commit_id[:10]}  {status_text(record.status)}")
    console.print(f"[bold]{escape(message.summary)}[/]")
    review = message.review.describe() if message.review else ""
    for title, text in (("Hypothesis", message.hypothesis), ("Review", review),
                        ("Critic", message.verdict), ("Findings", message.findings),
                        ("Feedback", message.feedback)):
        if text:
            console.print(f"\n[bold]{title}[/]\n{escape(text)}")
    figures = Table("metric", "value", title="Figures")
    if message.score is not None:
        figures.add_row("combined_score", f"{message.score:.6g}")
    for name, value in sorted(message.metrics.items()):
        figures.add_row(name, f"{value:.6g}")
    console.print(figures)
    console.print(Syntax(diff, "diff", theme="ansi_dark") if diff else "(no change to program.py)")


def _program(repo: RunRepository, sha: str) -> ProgramRecord:
    try:
        return repo.record(sha)
    except WorkspaceError as exc:
        fail(str(exc))


def _show_two(old: ProgramRecord, new: ProgramRecord, old_source: str, new_source: str) -> None:
    """The figures of two programs side by side and the diff of their programs."""
    def score(record: ProgramRecord) -> str:
        return "—" if record.score is None else f"{record.score:.6g}"

    console.rule(f"{old.key} → {new.key}")
    figures = Table("figure", old.key, new.key, title="Figures")
    figures.add_row("status", status_text(old.status), status_text(new.status))
    figures.add_row("combined_score", score(old), score(new))
    for name in sorted(set(old.message.metrics) | set(new.message.metrics)):
        values = (r.message.metrics.get(name) for r in (old, new))
        figures.add_row(name, *("—" if v is None else f"{v:.6g}" for v in values))
    console.print(figures)
    diff = "".join(difflib.unified_diff(
        old_source.splitlines(keepends=True), new_source.splitlines(keepends=True),
        fromfile=f"{old.key}/program.py", tofile=f"{new.key}/program.py"))
    console.print(Syntax(diff, "diff", theme="ansi_dark") if diff else "(the programs are the same)")


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
