"""The run's own nodes: plan (fan out), select (commit, keep going or stop) and report."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from adrs.agents.interface import (
    PlanRequest,
    ResearchNote,
    UsageMeter,
    add_counts,
    add_usage,
    total_dollars,
    total_tokens,
)
from adrs.graph.context import RunContext
from adrs.graph.state import Outcome, RunState
from adrs.workspace.database import ProgramDatabase
from adrs.workspace.messages import CandidateMessage, Review
from adrs.workspace.repository import RunRepository, program_key
from adrs.workspace.steering import SteeringLog


def plan(state: RunState, runtime: Runtime[RunContext]) -> Command[Literal["candidate", "select"]]:
    ctx = runtime.context
    iteration = state.get("iteration", 0) + 1
    database = ProgramDatabase.from_repository(ctx.repository)
    meter = UsageMeter()
    plans = ctx.team.planner.plan(PlanRequest(
        iteration=iteration, count=ctx.settings.width, database=database,
        repository=ctx.repository, problem=ctx.problem, seed=ctx.settings.seed,
        notes=research_notes(ctx.repository, database), meter=meter,
        guidance=tuple(n.text for n in SteeringLog(ctx.repository.path).for_iteration(iteration))))
    update = {key: value for key, value in (("usage", meter.usage()), ("faults", meter.faults()))
              if value}
    if not plans:  # the planner failed (counted in faults): an iteration without candidates
        return Command(goto="select", update=update)
    return Command(update=update, goto=[
        Send("candidate", {"iteration": iteration, "slot": slot, "plan": p.model_dump(),
                           "revisions": 0, "feedback": []})
        for slot, p in enumerate(plans)])


def research_notes(repo: RunRepository, database: ProgramDatabase) -> tuple[ResearchNote, ...]:
    """The run's research notes in the order of the programs they are attached to."""
    notes = repo.notes()
    return tuple(ResearchNote(key=record.key, text=notes[record.id].strip())
                 for record in database.records if record.id in notes)


def select(state: RunState, runtime: Runtime[RunContext]) -> Command[Literal["plan", "report"]]:
    """Commit this iteration's candidates in slot order, then decide whether to go on."""
    ctx = runtime.context
    repo = ctx.repository
    iteration = state.get("iteration", 0) + 1
    outcomes = sorted((o for o in state.get("outcomes", []) if o["iteration"] == iteration),
                      key=lambda o: o["slot"])
    best_id, best_score = state["best_id"], state["best_score"]
    recent: list[dict[str, Any]] = []
    for outcome in outcomes:
        key = program_key(outcome["iteration"], outcome["slot"])
        commit_id = None
        if outcome["program_blob"]:
            commit_id = repo.commit_candidate(key=key, parent=outcome["parent_id"],
                                              source=repo.read_blob(outcome["program_blob"]),
                                              message=commit_message(outcome))
        if commit_id and outcome.get("note"):
            repo.add_note(commit_id, outcome["note"])
        score = outcome["score"]
        if commit_id and score is not None and score > best_score:
            best_id, best_score = commit_id, score
        recent.append({"key": key, "status": outcome["status"], "score": score,
                       "summary": outcome["summary"], "verdict": outcome["verdict"],
                       "seconds": outcome["timings"].get("evaluation_seconds")})
    if best_id != state["best_id"]:
        repo.set_best(best_id)
    evaluations = state.get("evaluations", 0) + sum(
        o["status"] in ("evaluated", "failed") for o in outcomes)
    spent, faults = {}, {}
    for outcome in outcomes:
        spent = add_usage(spent, outcome.get("usage"))
        faults = add_counts(faults, outcome.get("faults"))
    update = {"iteration": iteration, "best_id": best_id, "best_score": best_score,
              "evaluations": evaluations, "recent": recent, "usage": spent, "faults": faults}
    reason = stop_reason(ctx, iteration, evaluations, best_score,
                         usage=add_usage(state.get("usage"), spent))
    if reason:
        return Command(goto="report", update={**update, "stop_reason": reason})
    return Command(goto="plan", update=update)


def stop_reason(ctx: RunContext, iteration: int, evaluations: int, best_score: float,
                usage: dict | None = None) -> str | None:
    settings = ctx.settings
    # Spend first: a run over its money budget stops even if other limits are also met.
    if settings.max_dollars is not None and total_dollars(usage) >= settings.max_dollars:
        return f"spent ${total_dollars(usage):.4f} of the ${settings.max_dollars:g} model budget"
    if settings.max_tokens is not None and total_tokens(usage) >= settings.max_tokens:
        return f"used {total_tokens(usage):,} of the {settings.max_tokens:,} model tokens budget"
    if iteration >= settings.iterations:
        return f"completed {iteration} iterations"
    if settings.max_evaluations is not None and evaluations >= settings.max_evaluations:
        return f"used the budget of {settings.max_evaluations} evaluations"
    if settings.target_score is not None and best_score >= settings.target_score:
        return f"reached the target score {settings.target_score}"
    if ctx.out_of_time():
        return f"used the wall-time budget of {settings.max_minutes} minutes"
    return None


def report(state: RunState, runtime: Runtime[RunContext]) -> dict:
    """Baseline against best, on the training figures and on held-out workloads."""
    ctx = runtime.context
    database = ProgramDatabase.from_repository(ctx.repository)
    baseline, best = database.get(state["baseline_id"]), database.get(state["best_id"])
    heldout = {}
    for label, record in (("baseline", baseline), ("best", best)):
        result = ctx.tool.evaluate(ctx.repository.program_source(record.id), split="heldout")
        heldout[label] = ({"combined_score": result.combined_score, **result.metrics}
                          if result.ok else {"error": result.summary_line()})
    return {"report": {
        "baseline_id": baseline.id, "best_id": best.id, "best_key": best.key,
        "train": {"baseline": {"combined_score": baseline.score, **baseline.message.metrics},
                  "best": {"combined_score": best.score, **best.message.metrics}},
        "heldout": heldout,
    }}


def commit_message(outcome: Outcome) -> CandidateMessage:
    """The commit carries the rationale in its body and the figures in its trailers."""
    verdict = outcome["verdict"]
    if outcome["revisions"]:
        verdict += f"\n(after {outcome['revisions']} revision(s))"
    return CandidateMessage(
        summary=outcome["summary"], hypothesis=outcome["hypothesis"], verdict=verdict,
        findings=outcome["findings"], feedback=outcome["feedback"],
        status=outcome["status"], iteration=outcome["iteration"], slot=outcome["slot"],
        score=outcome["score"], metrics=outcome["metrics"], per_workload=outcome["per_workload"],
        operator=outcome["operator"], model=outcome["model"], fingerprint=outcome["fingerprint"],
        extra_parents=[outcome["second_parent_id"]] if outcome["second_parent_id"] else [],
        review=Review.model_validate(outcome["review"]) if outcome.get("review") else None,
    )
