"""`adrs report`: a Markdown report of a run with its plots, the best program and its lineage."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from adrs.graph.rundir import open_run
from adrs.report.series import evaluations, lineage, outcomes_per_iteration, rationale
from adrs.report.summary import RunSummary, comparison_rows, read_summary
from adrs.workspace.repository import ProgramRecord

CAPTIONS = {
    "score.png": "Train score of every evaluated candidate (green dots; failed evaluations as red "
                 "crosses), the best train score so far (blue step line), and the held-out score "
                 "of the baseline and of the final best (purple diamonds), by evaluation.",
    "workloads.png": "Score per training workload of the baseline (grey) and of the best program "
                     "(blue), largest gain at the top.",
    "outcomes.png": "Candidates per iteration, stacked by outcome: evaluated (green), rejected by "
                    "the critic or the coder (orange), failed in the simulator (red).",
}


@dataclass(frozen=True)
class Report:
    markdown: Path
    plots: tuple[Path, ...]


def write_report(run_dir: Path, out: Path) -> Report:
    """Write report.md and its PNG plots into `out` (created if needed)."""
    with open_run(run_dir) as run:  # the run is read once, for the summary and the rest
        summary, database = read_summary(run)
        records, best = database.records, database.best
        best_source = run.repository.program_source(best.id)
    from adrs.report import plots  # matplotlib loads here, not for every command of the CLI

    out.mkdir(parents=True, exist_ok=True)
    history = evaluations(records)
    best_index = next(e.index for e in history if e.key == best.key)
    heldout = {index: value for index, value in ((0, summary.heldout_baseline),
                                                 (best_index, summary.heldout_best))
               if value is not None}
    drawn = (plots.score_plot(history, heldout, out / "score.png"),
             plots.workload_plot(database.baseline.message.per_workload, best.message.per_workload,
                                 best.key, out / "workloads.png"),
             plots.outcome_plot(outcomes_per_iteration(records), out / "outcomes.png"))
    text = render(summary, records, best, best_source)
    target = out / "report.md"
    target.write_text(text, encoding="utf-8")
    return Report(markdown=target, plots=drawn)


def render(summary: RunSummary, records: Sequence[ProgramRecord], best: ProgramRecord,
           best_source: str) -> str:
    lines = [f"# adrs report: {summary.problem} ({summary.name})", "",
             "| figure | value |", "|---|---|"]
    lines += [f"| {figure} | {_cell(cells[0])} |" for figure, cells in comparison_rows([summary])]
    if summary.heldout_best is None:
        lines += ["", "Held-out figures appear once the run has ended (its report step scores the "
                      "baseline and the best on held-out workloads)."]
    if summary.usage:
        lines += ["", "## Model spend per role", "", "| role | calls | tokens | dollars |",
                  "|---|---|---|---|"]
        for role, row in summary.usage.items():
            tokens = int(row.get("input_tokens", 0) + row.get("output_tokens", 0))
            lines.append(f"| {role} | {int(row.get('calls', 0))} | {tokens:,} | "
                         f"${row.get('dollars', 0.0):.4f} |")
    for name, title in (("score.png", "Score over evaluations"),
                        ("workloads.png", "Best against baseline, per workload"),
                        ("outcomes.png", "Outcomes per iteration")):
        lines += ["", f"## {title}", "", f"![{title}]({name})", "", f"*{CAPTIONS[name]}*"]
    lines += ["", f"## Lineage of the best program ({best.key})", "",
              "| step | program | score | change | rationale |", "|---|---|---|---|---|"]
    chain = lineage(records, best.id)
    for step, record in enumerate(chain):
        parent = chain[step - 1] if step else None
        delta = (f" ({record.score - parent.score:+.4f})"
                 if parent and record.score is not None and parent.score is not None else "")
        score = "—" if record.score is None else f"{record.score:.4f}{delta}"
        lines.append(f"| {step} | {record.key} `{record.id[:8]}` | {score} | "
                     f"{_cell(record.summary)} | {_cell(rationale(record))} |")
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", best_source)), default=0))
    lines += ["", f"## The best program ({best.key}, score {best.score:.4f})", "",
              f"{fence}python", best_source.rstrip("\n"), fence, ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")
