"""What every command shares: the Typer app, the console, and one-line errors and warnings."""

from __future__ import annotations

import warnings
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from adrs.graph.errors import USER_ERRORS

console = Console()
EXPECTED = USER_ERRORS
# The parser's UsageError: click's, or typer's vendored copy of it; BadParameter is its subclass
# in every version, so it is reached through that public name.
_UsageError = typer.BadParameter.__base__


def fail(message: str) -> NoReturn:
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)  # one line, however long
    raise typer.Exit(2)


class _Commands(TyperGroup):
    """A mistyped command line (a bad flag or value, a missing argument) gets one `error:` line,
    like every other bad input, instead of the parser's usage box."""

    def parse_args(self, ctx, args):  # adrs --bogus
        try:
            return super().parse_args(ctx, args)
        except _UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx):  # adrs nosuchcommand, adrs log --top x, ...
        try:
            return super().invoke(ctx)
        except _UsageError as exc:
            _usage_error(exc)


def _usage_error(exc: Exception) -> NoReturn:
    if type(exc).__name__ == "NoArgsIsHelpError":  # `adrs` alone: the help, as asked for
        raise exc
    where = getattr(exc, "ctx", None)
    hint = f" (see {where.command_path} --help)" if where is not None else ""
    fail(f"{exc.format_message().rstrip('.')}{hint}")


app = typer.Typer(help="adrs: a team of agents that evolves better systems algorithms.", cls=_Commands,
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


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
