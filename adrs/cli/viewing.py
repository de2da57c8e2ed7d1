"""Looking at runs beyond the log: `adrs serve` (web viewer), `report`, `compare` and `steer`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from adrs.cli.common import EXPECTED, app, console, fail
from adrs.cli.reviewing import default_reviewer
from adrs.graph.rundir import open_run
from adrs.report.markdown import write_report
from adrs.report.summary import comparison_rows, summarise
from adrs.viewer.access import Access, ViewerError
from adrs.viewer.app import create_app
from adrs.viewer.server import ViewerServer
from adrs.viewer.source import RunSource
from adrs.workspace.steering import SteeringLog

RunArgument = Annotated[Path, typer.Argument(help="The run directory.")]


@app.command()
def serve(
    run_dir: RunArgument,
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.", min=0, max=65535)] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on; another than loopback needs "
                                           "--public and --token.")] = "127.0.0.1",
    public: Annotated[bool, typer.Option("--public", help="Allow an address other than loopback.")] = False,
    token: Annotated[Optional[str], typer.Option(envvar="ADRS_VIEWER_TOKEN", show_default=False,
                                                 help="Every request must carry it (16+ characters).")] = None,
    writable: Annotated[bool, typer.Option("--writable", help="Let the page add steering notes "
                                                              "and answer reviews.")] = False,
    compare: Annotated[Optional[list[Path]], typer.Option(help="Another run to show beside it.")] = None,
) -> None:
    """A live web viewer of a run: lineage, scores, rationale, diffs, spend (read-only by default)."""
    sources: list[RunSource] = []  # the run, then the runs to compare; a bad one fails here
    try:
        access = Access(host=host, public=public, token=token, writable=writable)
        for path in (run_dir, *(compare or [])):
            sources.append(RunSource(path))
        server = ViewerServer(create_app(sources[0], access, sources[1:]), host, port)
    except (ViewerError, *EXPECTED) as exc:
        for opened in sources:
            opened.close()
        fail(str(exc))
    mode = "writable" if writable else "read-only"
    suffix = "?token=<your token>" if token else ""
    console.print(f"viewer of {escape(str(run_dir))} ({mode}) at [cyan]{server.url}{suffix}[/]  "
                  f"[dim]Ctrl-C stops it[/]")
    try:
        server.run()
    finally:
        for opened in sources:
            opened.close()


@app.command()
def report(run_dir: RunArgument,
           out: Annotated[Optional[Path], typer.Option(help="Folder for report.md and its plots "
                                                            "\\[<run>-report beside the run].")] = None) -> None:
    """A Markdown report with PNG plots, the best program and its lineage."""
    target = out or run_dir.resolve().parent / f"{run_dir.resolve().name}-report"
    try:
        written = write_report(run_dir, target)
    except EXPECTED as exc:
        fail(str(exc))
    except OSError as exc:  # e.g. --out names a file
        fail(f"cannot write the report to {target}: {exc.strerror or exc}")
    console.print(f"report: [cyan]{written.markdown}[/]  "
                  f"plots: {', '.join(path.name for path in written.plots)}")


@app.command("compare")
def compare_command(runs: Annotated[list[Path], typer.Argument(help="Two or more run directories.")]) -> None:
    """Runs side by side: best scores, held-out, evaluations used, spend."""
    if len(runs) < 2:
        fail("compare needs at least two runs")
    try:
        summaries = [summarise(run) for run in runs]
    except EXPECTED as exc:
        fail(str(exc))
    table = Table("figure", *(escape(s.name) for s in summaries), box=box.SIMPLE_HEAD)
    for figure, cells in comparison_rows(summaries):
        table.add_row(figure, *(escape(cell) for cell in cells))
    console.print(table)


@app.command()
def steer(run_dir: RunArgument,
          note: Annotated[Optional[str], typer.Argument(help="Guidance for the planner; "
                                                             "without it, list the notes.")] = None,
          author: Annotated[Optional[str], typer.Option(help="Your name \\[$ADRS_REVIEWER, git user.name].")] = None) -> None:
    """Add guidance that the planner reads from the next iteration on (kept in git)."""
    try:
        with open_run(run_dir) as run:
            brain = run.settings.brain
            # The last iteration with a committed candidate (the pipeline commits as it goes).
            done = max((r.iteration for r in run.repository.records()), default=0)
        log = SteeringLog(run_dir)
        if note is None:
            for item in log.notes():
                console.print(f"[dim]after iteration {item.after_iteration}, {escape(item.author)}:[/] "
                              f"{escape(item.text)}")
            return
        added = log.add(note, author=author or default_reviewer(), after_iteration=done)
    except EXPECTED as exc:
        fail(str(exc))
    console.print(f"steering note added after iteration {added.after_iteration}; the planner "
                  f"reads it from iteration {added.after_iteration + 1} on")
    if brain == "offline":
        console.print("[yellow]note:[/] the offline brain does not read language; the note is "
                      "kept in git and reaches a model planner (--model)")
