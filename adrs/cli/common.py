"""What every command shares: the Typer app, the console, and one-line errors and warnings."""

from __future__ import annotations

import warnings
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from adrs.graph.errors import USER_ERRORS

app = typer.Typer(help="adrs: a team of agents that evolves better systems algorithms.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console()
EXPECTED = USER_ERRORS


def fail(message: str) -> NoReturn:
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)  # one line, however long
    raise typer.Exit(2)


def _warn_one_line(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (e.g. a missing sandbox) as one plain line instead of Python's file:line form."""
    console.print(f"[bold yellow]warning:[/] {escape(str(message))}")


warnings.showwarning = _warn_one_line


def status_text(status: str) -> str:
    colour = {"evaluated": "green", "baseline": "blue", "rejected": "yellow", "failed": "red"}
    return f"[{colour.get(status, 'white')}]{status}[/]"


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
