"""`adrs run` and `adrs resume`: start or continue a run, printing each candidate as it lands."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from adrs.cli.common import EXPECTED, app, console, fail, short_verdict, status_text
from adrs.cli.options import ModelFlags, run_settings
from adrs.cli.reviewing import terminal_reviewer
from adrs.graph.catalogue import load_problem
from adrs.graph.rundir import open_run
from adrs.graph.runner import build_team, create_run, execute, replay_source, run_status
from adrs.graph.settings import ROLES, RunSettings, SettingsError
from adrs.graph.spend import add_usage, describe_faults, describe_usage, total_dollars, total_tokens

MODEL_PANEL = "Model brain (any OpenAI-compatible server; see docs/models.md)"


def model_option(help_text: str, *names: str, **extra: Any) -> Any:
    return typer.Option(*names, help=help_text, rich_help_panel=MODEL_PANEL, **extra)


@app.command()
def run(
    problem: Annotated[Optional[str], typer.Argument(help="Problem name (see `adrs problems`) or folder.")] = None,
    iterations: Annotated[Optional[int], typer.Option(help="Plan/select rounds \\[problem default].")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of every random choice \\[0].", show_default=False)] = None,
    width: Annotated[Optional[int], typer.Option(help="Candidates per iteration, evaluated in parallel \\[1].",
                                                 show_default=False)] = None,
    run_dir: Annotated[Optional[Path], typer.Option(help="Where to create the run \\[runs/<problem>-<time>].")] = None,
    max_evaluations: Annotated[Optional[int], typer.Option(help="Stop after this many evaluations.")] = None,
    target_score: Annotated[Optional[float], typer.Option(help="Stop once the best score reaches it.")] = None,
    max_minutes: Annotated[Optional[float], typer.Option(help="Wall-time budget of this invocation.")] = None,
    model: Annotated[Optional[str], model_option("Model of every role; turns the model brain on.")] = None,
    planner_model: Annotated[Optional[str], model_option("Model of the planner (a strong reasoner).")] = None,
    coder_model: Annotated[Optional[str], model_option("Model of the coder.")] = None,
    critic_model: Annotated[Optional[str], model_option("Model of the critic.")] = None,
    evaluator_model: Annotated[Optional[str], model_option("Model of the evaluator.")] = None,
    base_url: Annotated[Optional[str], model_option("OpenAI-compatible endpoint \\[OPENAI_BASE_URL, else OpenAI].")] = None,
    config: Annotated[Optional[Path], model_option('TOML file: \\[model], \\[prices."<model>"], \\[budget].')] = None,
    max_dollars: Annotated[Optional[float], model_option("Stop once the models cost this much (needs prices).")] = None,
    max_tokens: Annotated[Optional[int], model_option("Stop once the models used this many tokens.")] = None,
    record: Annotated[Optional[bool], model_option("Record model requests and answers in the run \\[record].",
                                                   "--record/--no-record", show_default=False)] = None,
    replay: Annotated[Optional[Path], model_option("Reproduce this recorded run, offline, with its settings.")] = None,
    # Human checkpoints (adrs/cli/reviewing.py, graph/review.py).
    review: Annotated[bool, typer.Option("--review", help="Pause after each plan: approve it, rewrite its "
                                                          "hypothesis or start it from another parent.")] = False,
) -> None:
    """Evolve a problem's baseline with the agents; every candidate becomes a git commit."""
    values = {"iterations": iterations, "seed": seed, "width": width,
              "max_evaluations": max_evaluations, "target_score": target_score,
              "max_minutes": max_minutes, "max_dollars": max_dollars, "max_tokens": max_tokens,
              "review": review or None}
    flags = ModelFlags(model=model, planner=planner_model, coder=coder_model, critic=critic_model,
                       evaluator=evaluator_model, base_url=base_url, record=record)
    try:
        if replay is not None:
            given = [name for name, value in {**values, **flags.given(), "config": config}.items()
                     if value is not None]
            if given:
                raise SettingsError("--replay reproduces the recorded run's settings; drop "
                                    f"--{given[0].replace('_', '-')}")
            spec, settings = replay_source(replay)
            if problem is not None and problem not in (spec.name, str(spec.root)):
                raise SettingsError(f"--replay {replay} is a run of {spec.name}, not {problem}")
        elif problem is None:
            raise SettingsError("name a problem (see `adrs problems`), or --replay a run")
        else:
            spec = load_problem(problem)
            settings = run_settings(spec.name, default_iterations=spec.spec.budget.iterations,
                                    values=values, flags=flags, config=config)
        target = run_dir or Path("runs") / f"{spec.name}-{datetime.now():%Y%m%d-%H%M%S}"
        if settings.model is not None:
            build_team(settings)  # a missing key or a bad replay fails before anything is written
            source = f"replaying {replay}" if replay is not None else (
                settings.model.base_url or "OPENAI_BASE_URL or OpenAI")
            console.print(f"[bold]model brain[/]: {escape(_role_models(settings))}  "
                          f"[dim]({escape(source)})[/]")
        console.print(f"[bold]adrs[/] {spec.name}: scoring the baseline…")
        create_run(spec, settings, target)
        console.print(f"run directory: [cyan]{target}[/]  (git -C {target} log --graph --glob=refs/adrs)")
        _drive(target, settings)
    except EXPECTED as exc:
        fail(str(exc))


@app.command()
def resume(run_dir: Annotated[Path, typer.Argument(help="The run directory.")]) -> None:
    """Continue a run that was stopped, from its last checkpoint."""
    try:
        with open_run(run_dir) as opened:
            settings = opened.settings
        _drive(run_dir, settings)
    except EXPECTED as exc:
        fail(str(exc))


def _role_models(settings: RunSettings) -> str:
    model = settings.model
    if model is None:
        return "offline"
    names = {role: model.model_for(role) for role in ROLES}
    if len(set(names.values())) == 1:
        return next(iter(names.values()))
    return ", ".join(f"{role} {name}" for role, name in names.items())


def _drive(run_dir: Path, settings: RunSettings) -> None:
    started = time.monotonic()
    spent = {"usage": dict(run_status(run_dir).get("usage") or {}) if settings.model else {}}

    def on_update(node: str, update: dict[str, Any]) -> None:
        if node in ("plan", "select"):  # the candidates' spend reaches the state in select
            spent["usage"] = add_usage(spent["usage"], update.get("usage"))
        if node != "select":
            return
        for line in update.get("recent", []):
            score = "     —" if line["score"] is None else f"{line['score']:.4f}"
            console.print(f"  [dim]{line['key']}[/] {score}  {status_text(line['status'])}  "
                          f"{escape(line['summary'][:60])}  "
                          f"[dim]{escape(short_verdict(line['verdict'] or ''))}[/]")
        if not update.get("recent"):
            console.print("  [yellow]no candidate this iteration: the planner gave no plan[/]")
        money = ""
        if settings.model is not None:
            money = f"  [dim]spent {total_tokens(spent['usage']):,} tokens " \
                    f"${total_dollars(spent['usage']):.4f}[/]"
        console.print(f"[bold]iteration {update['iteration']}/{settings.iterations}[/]  "
                      f"best {update['best_score']:.4f}  evaluations {update['evaluations']}  "
                      f"[dim]{time.monotonic() - started:.0f}s[/]{money}")

    final = execute(run_dir, on_update=on_update,
                    answerer=terminal_reviewer(run_dir) if settings.review else None)
    console.print(f"\nstopped: {final.get('stop_reason', 'unknown')}")
    if settings.model is not None:
        console.print(f"model usage: {escape(describe_usage(final.get('usage')))}")
        console.print(f"model faults: {escape(describe_faults(final.get('faults')))}")
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
