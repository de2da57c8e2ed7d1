"""The `adrs` command line: a thin layer over graph/ (runs) and workspace/ (history)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from graph.runner import RunError, create_run, execute, open_run
from graph.settings import RunSettings, SettingsError
from tools.problem import Problem, ProblemError, find_problem
from workspace.database import ProgramDatabase
from workspace.repository import RunRepository, WorkspaceError

app = typer.Typer(help="adrs: a team of agents that evolves better systems algorithms.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console()
BUILTIN_PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
EXPECTED = (ProblemError, SettingsError, RunError, WorkspaceError)


def problem_roots() -> list[Path]:
    return [Path.cwd() / "problems", BUILTIN_PROBLEMS]


def fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(2)


@app.command()
def run(
    problem: Annotated[str, typer.Argument(help="Problem name (see `adrs problems`) or folder.")],
    iterations: Annotated[Optional[int], typer.Option(help="Plan/select rounds [problem default].")] = None,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    width: Annotated[int, typer.Option(help="Candidates per iteration, evaluated in parallel.")] = 1,
    run_dir: Annotated[Optional[Path], typer.Option(help="Where to create the run [runs/<problem>-<time>].")] = None,
    max_evaluations: Annotated[Optional[int], typer.Option(help="Stop after this many evaluations.")] = None,
    target_score: Annotated[Optional[float], typer.Option(help="Stop once the best score reaches it.")] = None,
    max_minutes: Annotated[Optional[float], typer.Option(help="Wall-time budget of this invocation.")] = None,
) -> None:
    """Evolve a problem's baseline with the agents; every candidate becomes a git commit."""
    try:
        spec = find_problem(problem, problem_roots())
        settings = RunSettings.build(
            problem=spec.name, seed=seed, width=width,
            iterations=spec.spec.budget.iterations if iterations is None else iterations,
            max_evaluations=max_evaluations, target_score=target_score, max_minutes=max_minutes)
        target = run_dir or Path("runs") / f"{spec.name}-{datetime.now():%Y%m%d-%H%M%S}"
        console.print(f"[bold]adrs[/] {spec.name}: scoring the baseline…")
        create_run(spec, settings, target)
        console.print(f"run directory: [cyan]{target}[/]  (git -C {target} log --graph --all)")
        _drive(target, settings)
    except EXPECTED as exc:
        fail(str(exc))


@app.command()
def resume(run_dir: Annotated[Path, typer.Argument(help="The run directory.")]) -> None:
    """Continue a run that was stopped, from its last checkpoint."""
    try:
        _, settings, _, _ = open_run(run_dir)
        _drive(run_dir, settings)
    except EXPECTED as exc:
        fail(str(exc))


@app.command("log")
def log_command(run_dir: Annotated[Path, typer.Argument(help="The run directory.")]) -> None:
    """Every candidate: score, parent, verdict, rationale."""
    database = _database(run_dir)
    table = Table(title=f"{run_dir}", show_lines=False)
    for column in ("key", "commit", "parent", "status", "score", "summary", "critic"):
        table.add_column(column, overflow="fold")
    by_id = {record.id: record for record in database.records}
    best = database.best.id
    for record in database.records:
        parent = by_id.get(record.parent_id or "")
        score = "" if record.score is None else f"{record.score:.4f}"
        star = " *" if record.id == best else ""
        table.add_row(record.key, record.id[:8], parent.key if parent else "-",
                      _status_text(record.status), score + star, escape(record.summary),
                      escape(short_verdict(record.message.verdict)))
    console.print(table)


@app.command()
def show(run_dir: Annotated[Path, typer.Argument(help="The run directory.")],
         rev: Annotated[str, typer.Argument(help="Commit, key (i0007-s0), iteration, best or baseline.")] = "best") -> None:
    """One candidate: rationale, verdict, findings, metrics and its diff against its parent."""
    repo = _repository(run_dir)
    try:
        commit_id = repo.resolve(rev)
    except WorkspaceError as exc:
        fail(str(exc))
    record = {r.id: r for r in repo.records()}.get(commit_id)
    if record is None:
        fail(f"{rev} is not a program of this run")
    message = record.message
    console.rule(f"{record.key}  {commit_id[:10]}  {_status_text(record.status)}")
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
    diff = repo.diff_to_parent(commit_id)
    console.print(Syntax(diff, "diff", theme="ansi_dark") if diff else "(no change to program.py)")


@app.command()
def best(run_dir: Annotated[Path, typer.Argument(help="The run directory.")]) -> None:
    """Print the best program found so far (pipe it to a file)."""
    repo = _repository(run_dir)
    record = ProgramDatabase.from_repository(repo).best
    typer.echo(repo.program_source(record.id), nl=False)
    Console(stderr=True).print(f"[dim]{record.key} {record.id[:10]} score {record.score:.4f}[/]")


@app.command()
def problems() -> None:
    """The problems adrs knows, one line each."""
    seen: set[str] = set()
    for root in problem_roots():
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            if folder.name in seen or not (folder / "problem.toml").is_file():
                continue
            seen.add(folder.name)
            try:
                line = Problem.load(folder).spec.summary
            except ProblemError as exc:
                line = f"(broken) {exc}"
            typer.echo(f"{folder.name:<18} {line}")


def _drive(run_dir: Path, settings: RunSettings) -> None:
    started = time.monotonic()

    def on_update(node: str, update: dict[str, Any]) -> None:
        if node != "select":
            return
        for line in update.get("recent", []):
            score = "     —" if line["score"] is None else f"{line['score']:.4f}"
            console.print(f"  [dim]{line['key']}[/] {score}  {_status_text(line['status'])}  "
                          f"{escape(line['summary'][:60])}  "
                          f"[dim]{escape(short_verdict(line['verdict'] or ''))}[/]")
        console.print(f"[bold]iteration {update['iteration']}/{settings.iterations}[/]  "
                      f"best {update['best_score']:.4f}  evaluations {update['evaluations']}  "
                      f"[dim]{time.monotonic() - started:.0f}s[/]")

    final = execute(run_dir, on_update=on_update)
    console.print(f"\nstopped: {final.get('stop_reason', 'unknown')}")
    if final.get("report"):
        console.print(report_table(final["report"]))
    console.print(f"browse: adrs log {run_dir} · adrs show {run_dir} best · "
                  f"git -C {run_dir} log --graph")


def report_table(report: dict[str, Any]) -> Table:
    """Baseline vs best for each figure, on train and held-out workloads."""
    table = Table(title=f"baseline vs best ({report.get('best_key', '')})")
    for column in ("workloads", "figure", "baseline", "best", "change"):
        table.add_column(column, justify="right" if column in ("baseline", "best", "change") else "left")
    for split in ("train", "heldout"):
        pair = report.get(split, {})
        base, top = pair.get("baseline", {}), pair.get("best", {})
        if "error" in base or "error" in top:
            table.add_row(split, "error", escape(str(base.get("error", ""))),
                          escape(str(top.get("error", ""))), "")
            continue
        for name in [n for n in base if n in top]:
            b, t = base[name], top[name]
            change = f"{(t - b) / abs(b):+.1%}" if b else ""
            table.add_row(split, name, f"{b:.4g}", f"{t:.4g}", change)
    return table


def short_verdict(verdict: str) -> str:
    """'approve' (with its revisions) or the decision and its first reason."""
    lines = verdict.splitlines()
    if not lines:
        return ""
    decision, _, reasons = lines[0].partition(": ")
    revised = next((line.strip("()") for line in lines[1:] if "revision" in line), "")
    if decision == "approve":
        return f"approve, {revised}" if revised else "approve"
    return f"{decision}: {reasons.split('; ')[0]}"


def _repository(run_dir: Path) -> RunRepository:
    try:
        return RunRepository.open(run_dir)
    except WorkspaceError as exc:
        fail(str(exc))
        raise  # unreachable: fail exits


def _database(run_dir: Path) -> ProgramDatabase:
    return ProgramDatabase.from_repository(_repository(run_dir))


def _status_text(status: str) -> str:
    colour = {"evaluated": "green", "baseline": "blue", "rejected": "yellow", "failed": "red"}
    return f"[{colour.get(status, 'white')}]{status}[/]"


if __name__ == "__main__":
    app()
