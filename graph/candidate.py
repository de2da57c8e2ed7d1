"""One candidate's path: code -> critique -> (code again | evaluate | dropped).

Each candidate of an iteration runs this subgraph in its own `Send` branch, so candidates are
coded, reviewed and evaluated in parallel; only the Outcome flows back to the run.
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph
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
from adrs.graph.context import RunContext
from adrs.graph.state import CandidateOutput, CandidateState, Outcome
from adrs.workspace.database import ProgramDatabase


def code(state: CandidateState, runtime: Runtime[RunContext]) -> Command[Literal["critique", "__end__"]]:
    ctx = runtime.context
    plan = Plan.model_validate(state["plan"])
    repo = ctx.repository
    previous = state.get("program_blob")
    meter = UsageMeter()
    result = ctx.team.coder.write(CodeRequest(
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
    ))
    if result.source is None:
        outcome = _outcome(state, plan, ctx, status="rejected", blob=None,
                           verdict=f"no program written: {result.error}", meter=meter)
        return Command(goto=END, update={"outcomes": [outcome]})
    return Command(goto="critique", update={"program_blob": repo.store_blob(result.source),
                                            "applied": result.note, **_spent(meter)})


def critique(state: CandidateState,
             runtime: Runtime[RunContext]) -> Command[Literal["code", "evaluate", "__end__"]]:
    ctx = runtime.context
    plan = Plan.model_validate(state["plan"])
    repo = ctx.repository
    meter = UsageMeter()
    verdict = ctx.team.critic.review(ReviewRequest(
        plan=plan,
        parent_source=repo.program_source(plan.parent_id),
        candidate_source=repo.read_blob(state["program_blob"]),
        known_fingerprints=ProgramDatabase.from_repository(repo).fingerprints(),
        problem=ctx.problem,
        iteration=state["iteration"], slot=state["slot"],
        revision=state.get("revisions", 0),
        meter=meter,
    ))
    revisions = state.get("revisions", 0)
    text = verdict.describe()
    if verdict.decision == "approve":
        return Command(goto="evaluate", update={"verdict": text, **_spent(meter)})
    if verdict.decision == "revise" and revisions < ctx.settings.max_revisions:
        return Command(goto="code", update={"revisions": revisions + 1,
                                            "feedback": list(verdict.reasons), "verdict": text,
                                            **_spent(meter)})
    if verdict.decision == "revise":
        text = f"reject: still needs revision after {revisions} revisions; {text}"
    outcome = _outcome(state, plan, ctx, status="rejected", blob=state["program_blob"],
                       verdict=text, meter=meter)
    return Command(goto=END, update={"outcomes": [outcome]})


def evaluate(state: CandidateState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    plan = Plan.model_validate(state["plan"])
    repo = ctx.repository
    parent = ProgramDatabase.from_repository(repo).get(plan.parent_id)
    meter = UsageMeter()
    assessment = ctx.team.evaluator.assess(AssessRequest(
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
    return {"outcomes": [outcome]}


def _outcome(state: CandidateState, plan: Plan, ctx: RunContext, *, status: str,
             blob: str | None, verdict: str, findings: str = "", feedback: str = "",
             score: float | None = None, metrics: dict | None = None,
             per_workload: dict | None = None, timings: dict | None = None,
             meter: UsageMeter | None = None, note: str = "") -> Outcome:
    """The candidate's end; its spend is what earlier steps recorded plus this step's meter."""
    team = ctx.team
    spent = _spent(meter) if meter else {}
    return Outcome(
        iteration=state["iteration"], slot=state["slot"],
        parent_id=plan.parent_id, second_parent_id=plan.second_parent_id,
        summary=plan.summary,
        hypothesis="\n".join(line for line in (
            plan.hypothesis, f"Change: {plan.change}", f"Expected: {plan.expected_effect}",
            _applied_line(plan, state)) if line),
        operator=plan.operator,
        model=team.coder.model_name if team.coder.model_name == team.planner.model_name
        else f"{team.planner.model_name}+{team.coder.model_name}",
        program_blob=blob,
        fingerprint=fingerprint(ctx.repository.read_blob(blob)) if blob else "",
        status=status, verdict=verdict, revisions=state.get("revisions", 0),
        findings=findings, feedback=feedback, score=score,
        metrics=metrics or {}, per_workload=per_workload or {}, timings=timings or {},
        usage=add_usage(state.get("usage"), spent.get("usage")),
        faults=add_counts(state.get("faults"), spent.get("faults")),
        note=note,
        review=state.get("review"),
    )


def _spent(meter: UsageMeter) -> dict:
    """A step's model spend as a state update (nothing when no model was called)."""
    update: dict = {}
    if meter.usage():
        update["usage"] = meter.usage()
    if meter.faults():
        update["faults"] = meter.faults()
    return update


def _applied_line(plan: Plan, state: CandidateState) -> str:
    """Say what the coder really did when it differs from the plan (e.g. after a revision)."""
    applied = state.get("applied", "")
    if not applied or applied in plan.change:
        return ""
    return f"Applied: {applied}"


def build_candidate_graph():
    builder = StateGraph(CandidateState, context_schema=RunContext, output_schema=CandidateOutput)
    builder.add_node("code", code)
    builder.add_node("critique", critique)
    builder.add_node("evaluate", evaluate)
    builder.add_edge(START, "code")
    builder.add_edge("evaluate", END)
    return builder.compile()
