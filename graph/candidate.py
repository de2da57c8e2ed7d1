"""One candidate's path: code -> critique -> (code again | evaluate | rejected) -> commit.

A slot's plan node starts each candidate with a `Send` to `code` that carries the whole fresh
candidate (CandidateInput); `code` writes it into the slot's state, and the other nodes read it
there. The candidate's end, an Outcome, goes to the slot's commit node. These nodes are part of
the slot graph rather than a subgraph of their own: a subgraph per candidate cost LangGraph a
loop, a checkpoint lookup and an extra checkpoint each time (bench/overhead.py).

The nodes are async: a role's calls and the evaluation wait on the run's thread pool (or the
role's own async methods), never on the event loop. What a node reads of the run is the snapshot
the candidate was planned from (graph/pipeline.py), so the outcome never depends on what other
candidates did meanwhile.
"""

from __future__ import annotations

import functools
from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from adrs.agents.interface import (
    AssessRequest,
    CodeRequest,
    Plan,
    ReviewRequest,
    UsageMeter,
    add_counts,
    add_usage,
    fingerprint,
)
from adrs.graph.commits import model_label
from adrs.graph.context import RunContext
from adrs.graph.state import CandidateInput, CandidateState, Outcome


async def code(state: CandidateState,
               runtime: Runtime[RunContext]) -> Command[Literal["critique", "commit"]]:
    """First reached by the plan's Send (state = the fresh candidate), then by critique's
    "revise" (state = the slot's state); either way it writes the candidate back whole."""
    ctx = runtime.context
    plan = Plan.model_validate(state["plan"])
    repo = ctx.repository
    previous = state.get("program_blob")
    meter = UsageMeter()
    result = await ctx.call(ctx.team.coder, "write", CodeRequest(
        plan=plan,
        parent_source=repo.program_source(plan.parent_id),
        second_parent_source=(repo.program_source(plan.second_parent_id)
                              if plan.second_parent_id else None),
        iteration=state["iteration"], slot=state["slot"],
        revision=state.get("revisions", 0),
        feedback=tuple(state.get("feedback", ())),
        previous_source=repo.read_blob(previous) if previous else None,
        seed=ctx.settings.seed,
        problem=ctx.problem,
        meter=meter,
        # The snapshot it was planned from (never a rescan of git): what a duplicate repeats.
        database=ctx.pipeline.view(ctx.pipeline.number(state["iteration"], state["slot"])),
    ))
    candidate = {key: state[key] for key in CandidateInput.__annotations__ if key in state}
    if result.source is None:
        outcome = _outcome(state, plan, ctx, status="rejected", blob=None,
                           verdict=f"no program written: {result.error}", meter=meter)
        return Command(goto="commit", update={**candidate, "outcome": outcome})
    blob = await ctx.blocking(functools.partial(repo.store_blob, result.source))  # disk: off the loop
    return Command(goto="critique", update={
        **candidate, "program_blob": blob, "applied": result.note, **totals(state, meter)})


async def critique(state: CandidateState,
                   runtime: Runtime[RunContext]) -> Command[Literal["code", "evaluate", "commit"]]:
    ctx = runtime.context
    plan = Plan.model_validate(state["plan"])
    repo = ctx.repository
    meter = UsageMeter()
    snapshot = ctx.pipeline.view(ctx.pipeline.number(state["iteration"], state["slot"]))
    verdict = await ctx.call(ctx.team.critic, "review", ReviewRequest(
        plan=plan,
        parent_source=repo.program_source(plan.parent_id),
        candidate_source=repo.read_blob(state["program_blob"]),
        known_fingerprints=snapshot.known_fingerprints(),
        problem=ctx.problem,
        iteration=state["iteration"], slot=state["slot"],
        revision=state.get("revisions", 0),
        meter=meter,
    ))
    revisions = state.get("revisions", 0)
    text = verdict.describe()
    if verdict.decision == "approve":
        return Command(goto="evaluate", update={"verdict": text, **totals(state, meter)})
    if verdict.decision == "revise" and revisions < ctx.settings.max_revisions:
        return Command(goto="code", update={"revisions": revisions + 1,
                                            "feedback": list(verdict.reasons), "verdict": text,
                                            **totals(state, meter)})
    if verdict.decision == "revise":
        text = f"reject: still needs revision after {revisions} revisions; {text}"
    outcome = _outcome(state, plan, ctx, status="rejected", blob=state["program_blob"],
                       verdict=text, meter=meter)
    return Command(goto="commit", update={"outcome": outcome})


async def evaluate(state: CandidateState, runtime: Runtime[RunContext]) -> Command[Literal["commit"]]:
    ctx = runtime.context
    plan = Plan.model_validate(state["plan"])
    repo = ctx.repository
    parent = repo.record(plan.parent_id)
    meter = UsageMeter()
    assessment = await ctx.call(ctx.team.evaluator, "assess", AssessRequest(
        plan=plan, candidate_source=repo.read_blob(state["program_blob"]),
        parent=parent, tool=ctx.tool, problem=ctx.problem,
        parent_source=repo.program_source(plan.parent_id),
        iteration=state["iteration"], slot=state["slot"], meter=meter))
    result = assessment.result
    feedback = "\n".join(f"{name}: {text}" for name, text in sorted(result.artifacts.items()))
    if result.error:
        feedback = f"error: {result.error}\n{feedback}".strip()
    outcome = _outcome(
        state, plan, ctx, status="evaluated" if result.ok else "failed",
        blob=state["program_blob"], verdict=state.get("verdict", ""),
        findings=assessment.findings.describe(), feedback=feedback,
        score=result.combined_score if result.ok else None,
        metrics=dict(result.metrics), per_workload=dict(result.per_workload),
        timings={**result.timings, "evaluation_seconds": result.duration_seconds},
        meter=meter, note=assessment.note)
    return Command(goto="commit", update={"outcome": outcome})


def _outcome(state: CandidateState, plan: Plan, ctx: RunContext, *, status: str,
             blob: str | None, verdict: str, findings: str = "", feedback: str = "",
             score: float | None = None, metrics: dict | None = None,
             per_workload: dict | None = None, timings: dict | None = None,
             meter: UsageMeter | None = None, note: str = "") -> Outcome:
    """The candidate's end; its spend is what earlier steps recorded plus this step's meter."""
    spend = totals(state, meter or UsageMeter())
    return Outcome(
        iteration=state["iteration"], slot=state["slot"], island=state.get("island", 0),
        parent_id=plan.parent_id, second_parent_id=plan.second_parent_id,
        summary=plan.summary,
        hypothesis="\n".join(line for line in (
            plan.hypothesis, f"Change: {plan.change}", f"Expected: {plan.expected_effect}",
            _applied_line(plan, state)) if line),
        operator=plan.operator,
        model=model_label(ctx.team),
        program_blob=blob,
        fingerprint=fingerprint(ctx.repository.read_blob(blob)) if blob else "",
        status=status, verdict=verdict, revisions=state.get("revisions", 0),
        findings=findings, feedback=feedback, score=score,
        metrics=metrics or {}, per_workload=per_workload or {}, timings=timings or {},
        usage=spend["usage"], faults=spend["faults"], note=note,
        review=state.get("review"),
    )


def totals(state: CandidateState, meter: UsageMeter) -> dict:
    """The candidate's spend so far, this step's included (its state holds totals, not deltas)."""
    return {"usage": add_usage(state.get("usage"), meter.usage()),
            "faults": add_counts(state.get("faults"), meter.faults())}


def _applied_line(plan: Plan, state: CandidateState) -> str:
    """Say what the coder really did when it differs from the plan (e.g. after a revision)."""
    applied = state.get("applied", "")
    if not applied or applied in plan.change:
        return ""
    return f"Applied: {applied}"
