"""`adrs new` (scaffold a problem from a description and a simulator) and `adrs check`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from pydantic import ValidationError
from rich.markup import escape

from adrs.cli.common import EXPECTED, app, console, fail
from adrs.cli.options import ModelFlags, model_settings
from adrs.graph.authoring import check_problem, new_problem
from adrs.graph.catalogue import is_peer_config
from adrs.graph.settings import ModelSettings, SettingsError

MODEL_PANEL = "Model (optional: drafts README.md and evaluator.py; see docs/models.md)"


@app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="Name of the problem (its folder).")],
    description: Annotated[str, typer.Option(help="File with the problem in plain language, or - for stdin.")],
    simulator: Annotated[Path, typer.Option(help="Your simulator (a Python file; see docs/problem-contract.md).")],
    into: Annotated[Path, typer.Option(help="Where to create the folder.")] = Path("problems"),
    model: Annotated[Optional[str], typer.Option(help="Model that drafts README.md and evaluator.py.",
                                                 rich_help_panel=MODEL_PANEL)] = None,
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint.",
                                                    rich_help_panel=MODEL_PANEL)] = None,
) -> None:
    """Scaffold a problem folder: README.md, initial.py, evaluator.py, problem.toml."""
    try:
        if into.exists() and not into.is_dir():
            raise SettingsError(f"--into {into} is a file, not a folder")
        text = _description(description)
        values = model_settings(ModelFlags(model=model, base_url=base_url), None)
        settings = ModelSettings.model_validate(values) if values else None
        made = new_problem(name, description=text, simulator=simulator, parent=into, model=settings)
    except EXPECTED as exc:
        fail(str(exc))
    except ValidationError as exc:  # e.g. a --base-url that is not an http(s) URL
        first = exc.errors()[0]
        fail(f"invalid {'.'.join(str(p) for p in first['loc'])}: "
             f"{str(first['msg']).removeprefix('Value error, ')}")
    for line in made.warnings:
        console.print(f"[bold yellow]warning:[/] {escape(line)}")
    console.print(f"created [cyan]{made.folder}[/] (README.md and evaluator.py drafted by "
                  f"{escape(made.drafted_by)}); edit them, then: adrs check {made.folder}")


def _description(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read the description {source}: "
                            f"{getattr(exc, 'strerror', None) or exc}") from exc


@app.command("check")
def check(
    problem: Annotated[str, typer.Argument(help="Problem folder or name; or the program file, "
                                                "SkyDiscover style.")],
    evaluator: Annotated[Optional[str], typer.Argument(help="The evaluator file, after PROGRAM.",
                                                       show_default=False)] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="A peer's config.yaml.")] = None,
    data: Annotated[Optional[Path], typer.Option(help="Your data folder ($ADRS_DATA_DIR).")] = None,
) -> None:
    """Validate a problem: it loads, its baseline scores the same twice, one evaluation's time."""
    try:
        if config is not None and not is_peer_config(config):
            raise SettingsError(f"-c takes a peer's config.yaml, not {config.name}")
        if data is not None and not data.is_dir():
            raise SettingsError(f"--data {data} is not a folder")
        report = check_problem(problem, evaluator=evaluator, config=config, data_dir=data)
    except EXPECTED as exc:
        fail(str(exc))
    spec, baseline = report.problem, report.baseline
    for line in spec.notices:
        console.print(f"[dim]{escape(line)}[/]")
    console.print(f"loads: {spec.name} ({escape(spec.spec.evolve_file)}, "
                  f"{escape(spec.spec.evaluator_file)})")
    first = baseline.first
    if not first.ok:
        fail(f"the baseline of {spec.name} does not evaluate: {first.summary_line()}")
    console.print(f"baseline: {first.summary_line()}")
    if first.timings:  # wall times: shown, never part of a commit
        console.print("timings: " + " ".join(f"{name}={value:.3g}"
                                             for name, value in sorted(first.timings.items())))
    if first.score_note:
        console.print(f"[bold yellow]note:[/] {escape(first.score_note)}")
    warning = baseline.warning(spec.name)
    if warning:
        console.print(f"[bold yellow]warning:[/] {escape(warning)}")
    else:
        console.print("deterministic: the same figures on two evaluations")
    console.print(f"one evaluation: {baseline.seconds:.2f} s "
                  f"(limit {spec.spec.limits.timeout_seconds:g} s)")
