"""One slot of the pipeline: plan ──Send──▶ (review) ─▶ code ⇄ critique ─▶ evaluate ─▶ commit ──▶ plan.

The run fans out into K slots (graph/builder.py); each plans its next candidate as soon as it
has committed its last one, so K candidates are always in flight and none waits for a slower
one of "its generation". graph/pipeline.py says why the history still depends on the seed and
K only.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from adrs.agents.interface import UsageMeter
from adrs.graph.candidate import code, critique, evaluate
from adrs.graph.commits import commit_message, model_label
from adrs.graph.context import RunContext
from adrs.graph.pipeline import Ticket
from adrs.graph.review import review
from adrs.graph.state import CandidateInput, Outcome, SlotInput, SlotOutput, SlotState
from adrs.workspace.repository import program_key

# Slot s of a fresh run starts s x STAGGER_SECONDS late. Started together, the slots would wait
# for the same model answers and evaluations and then queue behind each other on the event loop
# (each candidate's own steps cost the orchestrator ~10-25 ms); folding in key order keeps them in
# step from then on, so every slot paid for the others' steps on every candidate. Staggered, the
# order of commits matches the key order and the steps interleave (bench/lockstep.py: LangGraph
# alone loses 31 ms per candidate at K=16 in step, 5 ms staggered; bench/compare.py --parallel 16:
# 10.37 -> 10.52-10.55 candidates per second). Timing only: no decision depends on it.
STAGGER_SECONDS = 0.05
MAX_STAGGER_SECONDS = 1.0  # the last slot of a wide run starts at most this late


def start_delay(slot: int, width: int) -> float:
    """How late `slot` of a fresh run of `width` slots plans its first candidate."""
    return slot * min(STAGGER_SECONDS, MAX_STAGGER_SECONDS / width)


async def plan(state: SlotState,
               runtime: Runtime[RunContext]) -> Command[Literal["review", "code", "commit", "__end__"]]:
    ctx = runtime.context
    pipeline = ctx.pipeline
    if "number" in state:
        number = state["number"] + pipeline.width
    else:  # the slot's first candidate
        number = state["slot"] + 1
        await asyncio.sleep(start_delay(state["slot"], pipeline.width))
    ticket = await pipeline.ticket(number)
    if ticket.request is None:  # a stop rule holds from this candidate on
        return Command(goto=END)
    meter = UsageMeter()
    plans = ticket.plans
    if plans is None:
        plans = await ctx.call(ctx.team.planner, "plan",
                               dataclasses.replace(ticket.request, meter=meter))
    if not plans:  # the planner failed (its faults are counted): the key still gets a commit
        return Command(goto="commit", update={"number": number,
                                              "outcome": _no_plan(ctx, ticket, meter)})
    # A reviewed run asks a person about each plan first (graph/review.py).
    first = "review" if ctx.settings.review else "code"
    return Command(update={"number": number}, goto=Send(first, CandidateInput(
        iteration=ticket.iteration, slot=ticket.slot, island=ticket.request.island,
        plan=plans[0].model_dump(), revisions=0, feedback=[], usage=meter.usage(),
        faults=meter.faults())))


async def commit(state: SlotState, runtime: Runtime[RunContext]) -> Command[Literal["plan"]]:
    """Commit the candidate (at once), then hand it to the pipeline (which folds it in order)."""
    ctx = runtime.context
    repo, pipeline = ctx.repository, ctx.pipeline
    outcome = state["outcome"]
    number = pipeline.number(outcome["iteration"], outcome["slot"])
    if number != state["number"]:
        raise RuntimeError(f"slot {state['slot']}: outcome of candidate {number}, "
                           f"expected {state['number']}")
    key = program_key(outcome["iteration"], outcome["slot"])

    def write() -> str:  # git's files, written on the pool: a slow disk never stalls other slots
        source = (repo.read_blob(outcome["program_blob"]) if outcome["program_blob"]
                  else repo.program_source(outcome["parent_id"]))  # nothing written: the parent's
        sha = repo.commit_candidate(key=key, parent=outcome["parent_id"], source=source,
                                    message=commit_message(outcome, ctx.isolation))
        if outcome["note"]:
            repo.add_note(sha, outcome["note"])
        return sha

    sha = await ctx.blocking(write)
    pipeline.settle(number, repo.record(sha))
    pipeline.publish_best_soon(ctx.pool)
    return Command(goto="plan", update={"line": _line(key, outcome, pipeline.summary())})


def _line(key: str, outcome: Outcome, figures: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "status": outcome["status"], "score": outcome["score"],
            "summary": outcome["summary"], "verdict": outcome["verdict"],
            "seconds": outcome["timings"].get("evaluation_seconds"),
            # wall times: reported as they come, never committed (not reproducible)
            "timings": outcome["timings"], **figures}


def _no_plan(ctx: RunContext, ticket: Ticket, meter: UsageMeter) -> Outcome:
    request = ticket.request
    assert request is not None and request.parent is not None
    parent = request.parent
    return Outcome(
        iteration=ticket.iteration, slot=ticket.slot, island=request.island,
        parent_id=parent.id, second_parent_id=None, summary="No plan: the planner failed",
        hypothesis="The planner gave no usable answer (see the Faults trailer); the parent's "
                   "program is kept under this key so that no key is left out.",
        operator="none", model=model_label(ctx.team), program_blob=None, fingerprint="",
        status="rejected", verdict="reject: no plan to review", revisions=0, findings="",
        feedback="", score=None, metrics={}, per_workload={}, timings={},
        usage=meter.usage(), faults=meter.faults(), note="", review=None)


def build_slot_graph():
    builder = StateGraph(SlotState, context_schema=RunContext, input_schema=SlotInput,
                         output_schema=SlotOutput)
    builder.add_node("plan", plan)
    builder.add_node("review", review)
    builder.add_node("code", code)
    builder.add_node("critique", critique)
    builder.add_node("evaluate", evaluate)
    builder.add_node("commit", commit)
    builder.add_edge(START, "plan")
    return builder.compile()


