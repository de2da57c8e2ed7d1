"""A run in a few figures: what `adrs compare`, the report and the viewer put side by side."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from adrs.graph.builder import build_graph
from adrs.graph.review import pending_reviews
from adrs.graph.rundir import THREAD, Run, open_run
from adrs.graph.settings import ROLES, RunSettings
from adrs.graph.spend import total_dollars, total_tokens
from adrs.workspace.database import ProgramDatabase
from adrs.workspace.repository import ProgramRecord


class RunSummary(BaseModel):
    """The headline figures of one run."""

    model_config = ConfigDict(frozen=True)
    name: str = Field(description="The run directory's name.")
    problem: str
    brain: str = Field(description="'offline', or the model of each role.")
    seed: int
    width: int
    iterations: int = Field(description="Iterations completed.")
    iterations_budget: int
    evaluations: int = Field(description="Candidates that reached the simulator.")
    outcomes: dict[str, int] = Field(description="Candidates by status (baseline excluded).")
    baseline_score: float
    best_key: str
    best_score: float
    heldout_baseline: float | None = Field(description="Held-out score of the baseline, once the run ended.")
    heldout_best: float | None = Field(description="Held-out score of the best, once the run ended.")
    tokens: int
    dollars: float
    usage: dict[str, dict[str, float]] = Field(description="Model spend per role.")
    stop_reason: str | None
    paused: bool = Field(description="Waiting for a person's review of a plan.")


def brain_label(settings: RunSettings) -> str:
    if settings.model is None:
        return "offline"
    names = {role: settings.model.model_for(role) for role in ROLES}
    if len(set(names.values())) == 1:
        return next(iter(names.values()))
    return ", ".join(f"{role} {name}" for role, name in names.items())


def summarise_parts(name: str, settings: RunSettings, records: Sequence[ProgramRecord],
                    state: Mapping[str, Any], paused: bool = False) -> RunSummary:
    """The summary from what a run holds: its settings, program records and last state."""
    database = ProgramDatabase(tuple(records))
    best, baseline = database.best, database.baseline
    heldout = (state.get("report") or {}).get("heldout", {})
    outcomes = Counter(r.status for r in records if r.status != "baseline")
    usage = dict(state.get("usage") or {})
    return RunSummary(
        name=name, problem=settings.problem, brain=brain_label(settings), seed=settings.seed,
        width=settings.width, iterations=int(state.get("iteration", 0)),
        iterations_budget=settings.iterations,
        evaluations=int(state.get("evaluations", outcomes["evaluated"] + outcomes["failed"])),
        outcomes={status: outcomes[status] for status in ("evaluated", "rejected", "failed")},
        baseline_score=baseline.score, best_key=best.key, best_score=best.score,
        heldout_baseline=_score(heldout.get("baseline")), heldout_best=_score(heldout.get("best")),
        tokens=total_tokens(usage), dollars=total_dollars(usage), usage=usage,
        stop_reason=state.get("stop_reason"), paused=paused)


def summarise(run_dir: Path) -> RunSummary:
    """The summary of the run at `run_dir` (RunError if it is not one)."""
    with open_run(run_dir) as run:
        return read_summary(run)[0]


def read_summary(run: Run) -> tuple[RunSummary, ProgramDatabase]:
    """The summary of an open run, and the program database it was made from."""
    with run.checkpointer() as saver:
        database = ProgramDatabase.from_repository(run.repository)
        snapshot = build_graph(saver).get_state({"configurable": THREAD})
    return summarise_parts(run.paths.root.name, run.settings, database.records, snapshot.values,
                           paused=bool(pending_reviews(snapshot))), database


def _score(figures: Mapping[str, Any] | None) -> float | None:
    value = (figures or {}).get("combined_score")
    return float(value) if isinstance(value, int | float) else None


def comparison_rows(runs: Sequence[RunSummary]) -> list[tuple[str, list[str]]]:
    """(figure, one cell per run) for the side-by-side table of `adrs compare` and the viewer."""
    def number(value: float | None, digits: int = 4) -> str:
        return "—" if value is None else f"{value:.{digits}f}"

    def change(run: RunSummary) -> str:
        gain = run.best_score - run.baseline_score
        relative = f" ({gain / abs(run.baseline_score):+.1%})" if run.baseline_score else ""
        return f"{gain:+.4f}{relative}"

    rows = [
        ("problem", [r.problem for r in runs]),
        ("brain", [r.brain for r in runs]),
        ("seed · width", [f"{r.seed} · {r.width}" for r in runs]),
        ("iterations", [f"{r.iterations} of {r.iterations_budget}" for r in runs]),
        ("evaluations used", [str(r.evaluations) for r in runs]),
        ("evaluated · rejected · failed", [" · ".join(str(r.outcomes[s]) for s in
                                                    ("evaluated", "rejected", "failed")) for r in runs]),
        ("baseline score", [number(r.baseline_score) for r in runs]),
        ("best score", [f"{number(r.best_score)} ({r.best_key})" for r in runs]),
        ("best − baseline", [change(r) for r in runs]),
        ("held-out baseline", [number(r.heldout_baseline) for r in runs]),
        ("held-out best", [number(r.heldout_best) for r in runs]),
        ("model tokens", [f"{r.tokens:,}" for r in runs]),
        ("model dollars", [f"${r.dollars:.4f}" for r in runs]),
        ("state", [("paused for review" if r.paused else r.stop_reason or "not finished")
                   for r in runs]),
    ]
    return rows
