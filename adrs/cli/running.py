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
from adrs.graph.catalogue import is_peer_config, load_problem
from adrs.graph.containment import isolation_line
from adrs.graph.rundir import RunError, open_run
from adrs.graph.runner import (
    build_team,
    create_run,
    execute,
    finished_state,
    probe_models,
    replay_source,
    run_status,
)
from adrs.graph.settings import ROLES, RunSettings, SettingsError
from adrs.graph.spend import describe_faults, describe_usage, total_dollars, total_tokens

MODEL_PANEL = "Model brain (any OpenAI-compatible server; see docs/models.md)"
EVALUATION_PANEL = "Evaluation (isolation: docs/reliability.md; Ray: docs/scaling.md)"


def model_option(help_text: str, *names: str, **extra: Any) -> Any:
    return typer.Option(*names, help=help_text, rich_help_panel=MODEL_PANEL, **extra)


@app.command()
def run(
    problem: Annotated[Optional[str], typer.Argument(help="Problem name (see `adrs problems`) or folder; "
                                                     "or, SkyDiscover style, the initial program or the evaluator file.")] = None,
    evaluator_file: Annotated[Optional[str], typer.Argument(metavar="[EVALUATOR]",
                                                            help="The evaluator file, after PROGRAM (SkyDiscover style).",
                                                            show_default=False)] = None,
    iterations: Annotated[Optional[int], typer.Option(help="Plan/select rounds \\[problem default].")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of every random choice \\[0].", show_default=False)] = None,
    # search: --parallel K keeps K candidates in flight (--width is its older name)
    width: Annotated[Optional[int], typer.Option("--parallel", "--width", help="Candidates in flight at once; "
                                                 "an iteration is one candidate per slot \\[1].",
                                                 show_default=False)] = None,
    run_dir: Annotated[Optional[Path], typer.Option(help="Where to create the run \\[runs/<problem>-<time>].")] = None,
    max_evaluations: Annotated[Optional[int], typer.Option(help="Stop after this many evaluations.")] = None,
    target_score: Annotated[Optional[float], typer.Option(help="Stop once the best score reaches it.")] = None,
    max_minutes: Annotated[Optional[float], typer.Option(help="Wall-time budget of this invocation.")] = None,
    # Model brain: a model, or `offline`, per role (mixed brains), and how requests are sent.
    model: Annotated[Optional[str], model_option("Model of every role not named below; turns the model brain on.")] = None,
    planner: Annotated[Optional[str], model_option("Model of the planner (a strong reasoner), or offline.",
                                                   "--planner", "--planner-model")] = None,
    coder: Annotated[Optional[str], model_option("Model of the coder, or offline (with an offline planner).",
                                                 "--coder", "--coder-model")] = None,
    critic: Annotated[Optional[str], model_option("Model of the critic, or offline: the static checks alone.",
                                                  "--critic", "--critic-model")] = None,
    evaluator: Annotated[Optional[str], model_option("Model of the evaluator, or offline: findings from the figures.",
                                                     "--evaluator", "--evaluator-model")] = None,
    team: Annotated[Optional[str], model_option(
        "full: a model call per role (plan, code, review, findings); lean: one call per candidate, "
        "the planner writes the edit, the critic and evaluator are offline unless named \\[full].")] = None,
    base_url: Annotated[Optional[str], model_option("OpenAI-compatible endpoint \\[OPENAI_BASE_URL, else OpenAI].")] = None,
    max_concurrent_requests: Annotated[Optional[int], model_option(
        "Requests in flight per endpoint \\[1 for a local server, 8 for a remote one].")] = None,
    config: Annotated[Optional[Path], model_option('TOML file: \\[model], \\[prices."<model>"], \\[budget]; '
                                                   "or a peer's config.yaml, with files.", "--config", "-c")] = None,
    max_dollars: Annotated[Optional[float], model_option("Dollar budget of the models, checked before every call (needs prices).")] = None,
    max_tokens: Annotated[Optional[int], model_option("Token budget of the models, checked before every call.")] = None,
    record: Annotated[Optional[bool], model_option("Record model requests and answers in the run \\[record].",
                                                   "--record/--no-record", show_default=False)] = None,
    replay: Annotated[Optional[Path], model_option("Reproduce this recorded run, offline, with its settings.")] = None,
    # Problems from elsewhere and your own data (issue 9).
    data: Annotated[Optional[Path], typer.Option(help="Your data folder, read by the evaluator through "
                                                      "$ADRS_DATA_DIR \\[problem.toml's data, else its seeded data].")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="The offline brain, even when the problem's "
                                                            "config.yaml names a model.")] = False,
    # Isolation and executors (issues 11 and 13); see docs/reliability.md and docs/scaling.md.
    unsafe_no_isolation: Annotated[bool, typer.Option(
        "--unsafe-no-isolation", help="Run model-written code with resource limits only when no "
        "isolation works here (recorded in the run).", rich_help_panel=EVALUATION_PANEL)] = False,
    executor: Annotated[Optional[str], typer.Option(help="Where candidates are evaluated: local "
                                                    "(warm jailed workers) or ray \\[local].",
                                                    rich_help_panel=EVALUATION_PANEL)] = None,
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster to use with --executor ray "
                                                       "\\[a local Ray].", rich_help_panel=EVALUATION_PANEL)] = None,
    # Human checkpoints (adrs/cli/reviewing.py, graph/review.py).
    review: Annotated[bool, typer.Option("--review", help="Pause after each plan: approve it, rewrite its "
                                                          "hypothesis or start it from another parent.")] = False,
) -> None:
    """Evolve a problem's baseline with the agents; every candidate becomes a git commit."""
    values = {"iterations": iterations, "seed": seed, "width": width,
              "max_evaluations": max_evaluations, "target_score": target_score,
              "max_minutes": max_minutes, "max_dollars": max_dollars, "max_tokens": max_tokens,
              "data_dir": str(data) if data is not None else None,
              "unsafe_no_isolation": unsafe_no_isolation or None, "executor": executor,
              "ray_address": ray_address, "review": review or None}
    flags = ModelFlags(model=model, planner=planner, coder=coder, critic=critic,
                       evaluator=evaluator, base_url=base_url, record=record,
                       max_concurrent_requests=max_concurrent_requests,
                       team=team)
    try:
        if replay is not None:
            given = [name for name, value in {**values, **flags.given(), "config": config,
                                              "evaluator_file": evaluator_file, "offline": offline or None}.items()
                     if value is not None]
            if given:
                flag = {"data_dir": "data"}.get(given[0], given[0])
                raise SettingsError("--replay reproduces the recorded run's settings; drop "
                                    f"--{flag.replace('_', '-')}")
            spec, settings = replay_source(replay)
            if problem is not None and problem not in (spec.name, str(spec.root)):
                raise SettingsError(f"--replay {replay} is a run of {spec.name}, not {problem}")
        elif problem is None:
            raise SettingsError("name a problem (see `adrs problems`), or --replay a run")
        else:
            peer_config = config if is_peer_config(config) else None
            spec = load_problem(problem, evaluator_file, peer_config)
            for line in spec.notices:
                console.print(f"[dim]{escape(line)}[/]")
            if data is None and spec.default_data_dir is not None:
                values["data_dir"] = str(spec.default_data_dir)
            borrowed = {} if offline else spec.model_defaults
            settings = run_settings(spec.name, default_iterations=spec.spec.budget.iterations,
                                    values=values, flags=flags, model_defaults=borrowed,
                                    config=None if peer_config else config)
            if spec.from_scratch and settings.model is None:
                raise SettingsError(f"{spec.name} has no initial program, and the offline brain "
                                    "only tunes one: name it (adrs run PROGRAM EVALUATOR) or --model")
        target = run_dir or Path("runs") / f"{spec.name}-{datetime.now():%Y%m%d-%H%M%S}"
        isolation = isolation_line(settings)  # refuses here, before any model is asked anything
        if settings.model is not None:
            try:
                build_team(settings)  # a missing key or a bad replay fails before anything is written
            except RunError as exc:
                if replay is None and not flags.given_names() and config is None and spec.model_defaults:
                    raise RunError(f"{exc} (the model is the one {spec.spec.config_file} names; "
                                   "--offline runs without a model)") from exc
                raise
            source = f"replaying {replay}" if replay is not None else (
                settings.model.base_url or "OPENAI_BASE_URL or OpenAI")
            console.print(f"[bold]model brain[/]: {escape(_role_models(settings))}  "
                          f"[dim]({escape(source)})[/]")
            if replay is None:  # what each endpoint accepts; a refusal stops here, nothing written
                settings = probe_models(settings)
                _say_fallbacks(settings)
        console.print(f"[bold]adrs[/] {spec.name}: scoring the baseline…  "
                      f"[dim](isolation: {escape(isolation)})[/]")
        create_run(spec, settings, target,
                   notify=lambda note: console.print(f"[bold yellow]warning:[/] {escape(note)}"))
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
        final = finished_state(run_dir)
        if final is not None:  # said at once: no jail probe, no model
            console.print(f"{escape(str(run_dir))} has finished; nothing to resume "
                          f"(stopped: {escape(str(final.get('stop_reason', 'unknown')))})")
            _check_something_was_evaluated(final, final, settings)  # ever, for a model run
            return
        console.print(f"[bold]isolation[/]: {escape(isolation_line(settings))}")
        _drive(run_dir, settings)
    except EXPECTED as exc:
        fail(str(exc))


def _say_fallbacks(settings: RunSettings) -> None:
    """One line per model whose server refused part of a request, and how it will be asked."""
    for name, caps in (settings.model.capabilities if settings.model else {}).items():
        if caps.refusals:
            console.print(f"[bold yellow]warning:[/] model {escape(name)}: {escape(caps.describe())} "
                          f"(the server refused {escape('; '.join(caps.refusals))})")


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
    before = run_status(run_dir)
    shown = {"iteration": -1}

    def on_update(node: str, update: dict[str, Any]) -> None:
        # Each slot's commit carries its candidate's line and the run's figures so far.
        line = update.get("line") if node == "commit" else None
        if not line:
            return
        score = "     —" if line["score"] is None else f"{line['score']:.4f}"
        console.print(f"  [dim]{line['key']}[/] {score}  {status_text(line['status'])}  "
                      f"{escape(line['summary'][:60])}  "
                      f"[dim]{escape(short_verdict(line['verdict'] or ''))}"
                      f"{escape(_timings(line.get('timings') or {}))}[/]")
        if line["iteration"] == shown["iteration"]:
            return
        shown["iteration"] = line["iteration"]
        money = ""
        if settings.model is not None:
            money = f"  [dim]spent {total_tokens(line['usage']):,} tokens " \
                    f"${total_dollars(line['usage']):.4f}[/]"
        console.print(f"[bold]iteration {line['iteration']}/{settings.iterations}[/]  "
                      f"best {line['best_score']:.4f}  evaluations {line['evaluations']}  "
                      f"[dim]{time.monotonic() - started:.0f}s[/]{money}")

    final = execute(run_dir, on_update=on_update,
                    answerer=terminal_reviewer(run_dir) if settings.review else None)
    console.print(f"\nstopped: {final.get('stop_reason', 'unknown')}")
    if settings.model is not None:
        console.print(f"model usage: {escape(describe_usage(final.get('usage')))}")
        console.print(f"model faults: {escape(describe_faults(final.get('faults')))}")
    if final.get("report"):
        console.print(report_table(final["report"]))
        console.print(f"data: {escape(final['report'].get('data') or 'the problem’s own (no --data)')}")
    console.print(f"browse: adrs log {run_dir} · adrs show {run_dir} best · "
                  f"git -C {run_dir} log --graph")
    _check_something_was_evaluated(before, final, settings)


def _check_something_was_evaluated(before: dict[str, Any], final: dict[str, Any],
                                   settings: RunSettings) -> None:
    """A model run that evaluated nothing (in this invocation, or ever) is not a success."""
    evaluations = final.get("evaluations", 0)
    evaluated_now = evaluations > before.get("evaluations", 0)
    ran_now = final.get("iteration", 0) > before.get("iteration", 0)  # else: finished before
    if settings.model is None or evaluated_now or (evaluations and not ran_now):
        return
    faults = describe_faults(final.get("faults"))
    fail(f"no candidate reached the simulator ({final.get('stop_reason', 'stopped')}); "
         f"model faults: {faults}")


def _timings(timings: dict[str, float]) -> str:
    """The evaluator's wall-time figures, shown live and never committed."""
    shown = [f"{name}={value:.3g}" for name, value in sorted(timings.items())
             if name != "evaluation_seconds"][:3]
    return "  " + " ".join(shown) if shown else ""


def report_table(report: dict[str, Any]) -> Table:
    """Baseline vs best for each figure, on train and held-out workloads."""
    table = Table(title=f"baseline vs best ({report.get('best_key', '')})")
    for column in ("workloads", "figure", "baseline", "best", "change"):
        table.add_column(column, justify="right" if column in ("baseline", "best", "change") else "left")
    for split in ("train", "heldout"):
        pair = report.get(split, {})
        base, top = pair.get("baseline", {}), pair.get("best", {})
        if isinstance(base.get("error"), str) or isinstance(top.get("error"), str):  # not a metric
            table.add_row(split, "error", escape(str(base.get("error", ""))),
                          escape(str(top.get("error", ""))), "")
            continue
        for name in [n for n in base if n in top]:
            b, t = base[name], top[name]
            change = f"{(t - b) / abs(b):+.1%}" if b else ""
            table.add_row(split, name, f"{b:.4g}", f"{t:.4g}", change)
    return table
