"""`adrs doctor`: what this machine gives adrs, one line per check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from adrs.cli.common import EXPECTED, app, console, fail
from adrs.cli.options import read_config
from adrs.graph.doctor import checks

MARKS = {True: "[green]ok[/]  ", False: "[red]FAIL[/]", None: "[dim]-[/]   "}


@app.command()
def doctor(
    problem: Annotated[Optional[str], typer.Argument(help="Check this problem's packages [every problem adrs knows].")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="Model endpoint to check [OPENAI_BASE_URL].")] = None,
    config: Annotated[Optional[Path], typer.Option(help="Take the endpoint from this config's [model] base_url.")] = None,
) -> None:
    """Which isolation this machine gives candidates (with a probe), git and Python, whether the
    problems' packages import, and whether the model endpoint answers. Exit 1 if a check fails."""
    try:
        if base_url is None and config is not None:
            base_url = read_config(config)["model"].get("base_url")
        found = checks(problem, base_url)
    except EXPECTED as exc:
        fail(str(exc))
    width = max(len(check.name) for check in found)
    for check in found:
        console.print(f"{MARKS[check.ok]}  {check.name:<{width}}  {escape(check.detail)}",
                      soft_wrap=True)
    if any(check.ok is False for check in found):
        raise typer.Exit(1)
