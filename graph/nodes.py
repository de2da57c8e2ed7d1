"""The run's own nodes: launch (fan out into the K slots) and report."""

from __future__ import annotations

from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from adrs.graph.context import RunContext
from adrs.graph.state import RunState


def launch(state: RunState, runtime: Runtime[RunContext]) -> Command[Literal["slot"]]:
    """One `Send` per slot: K candidates in flight from the start."""
    return Command(goto=[Send("slot", {"slot": slot}) for slot in range(runtime.context.settings.width)])


async def report(state: RunState, runtime: Runtime[RunContext]) -> dict:
    """Baseline against best, on the training figures and on held-out workloads. Held-out
    scores are measured here, after the search, and never reach a search decision."""
    ctx = runtime.context
    pipeline = ctx.pipeline
    figures = pipeline.summary()
    database = pipeline.database
    baseline, best = database.baseline, database.best
    ctx.repository.set_best(best.id)  # and check it out: the run's working tree shows the best
    heldout = {}
    for label, record in (("baseline", baseline), ("best", best)):
        source = ctx.repository.program_source(record.id)
        result = await ctx.blocking(lambda s=source: ctx.tool.evaluate(s, split="heldout"))
        heldout[label] = ({"combined_score": result.combined_score, **result.metrics}
                          if result.ok else {"error": result.summary_line()})
    return {**{k: v for k, v in figures.items() if k not in ("usage", "faults")},
            "usage": figures["usage"], "faults": figures["faults"],
            "stop_reason": pipeline.stop_reason() or "nothing left to plan",
            "report": {
                "baseline_id": baseline.id, "best_id": best.id, "best_key": best.key,
                "train": {"baseline": {"combined_score": baseline.score, **baseline.message.metrics},
                          "best": {"combined_score": best.score, **best.message.metrics}},
                "heldout": heldout,
                "data": ctx.settings.data_dir,  # None: the problem's own seeded synthetic data
            }}
