"""The model planner: reads the problem, the parent, the history and the notes; proposes plans."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from adrs.agents.model import views
from adrs.agents.model.answers import AnswerError
from adrs.agents.model.asking import ask_structured
from adrs.agents.model.errors import BudgetExhausted, ModelSetupError
from adrs.agents.model.gateway import ModelCallFailed, ModelGateway
from adrs.agents.model.schemas import EditedPlanBatch, PlanBatch
from adrs.agents.prompts import render
from adrs.agents.roles import PlanRequest, derive_rng
from adrs.agents.schemas import Plan
from adrs.agents.usage import UsageMeter
from adrs.workspace.database import ProgramDatabase, ProgramRecord
from adrs.workspace.repository import program_key

log = logging.getLogger("adrs.model")
TOOL = "submit_plans"
TEXT_CHARS = 4000  # a runaway answer must not bloat every commit message and later prompt


@dataclass(frozen=True)
class PlannerOptions:
    max_repairs: int = 2
    top_programs: int = 5  # programs listed as possible parents
    history_size: int = 8  # recent attempts shown
    notes_size: int = 12  # research notes shown
    exploit_ratio: float = 0.7  # how the suggested parent is drawn (as the offline planner)
    tournament_size: int = 3
    write_edits: bool = False  # team lean: the plan carries its edit (one call per candidate)


class ModelPlanner:
    def __init__(self, gateway: ModelGateway, options: PlannerOptions = PlannerOptions()) -> None:
        self._gateway = gateway
        self._options = options
        self.model_name = gateway.model

    def plan(self, request: PlanRequest) -> list[Plan]:
        """Up to `request.count` plans (fewer when a cut answer held fewer complete ones).

        None when the budget cannot pay for the call (the run then stops for its budget).
        ModelSetupError when the model gave no usable plan: an iteration without candidates is
        not silently passed; the run stops with the cause and can be resumed."""
        meter = request.meter or UsageMeter()
        database = request.database
        suggested = self.suggest_parent(request)
        choices = self.parent_choices(database, suggested)
        try:
            return ask_structured(
                self._gateway, role="planner", scope=f"{program_key(request.iteration, request.slot)} plan",
                messages=self.messages(request, suggested, choices),
                schema=EditedPlanBatch if self._options.write_edits else PlanBatch,
                tool=TOOL, meter=meter, max_repairs=self._options.max_repairs,
                check=lambda batch: _plans(batch, choices, request.count, suggested))
        except BudgetExhausted as exc:
            log.info("iteration %d: no plan: %s", request.iteration, exc)
            return []
        except ModelCallFailed as exc:
            raise ModelSetupError(f"iteration {request.iteration}: the planner's model "
                                  f"({self.model_name}) gave no usable plan: {exc}") from exc

    def suggest_parent(self, request: PlanRequest) -> ProgramRecord:
        """The search strategy's choice when there is one; else a seeded draw, so exploration
        does not rest on the model's taste alone."""
        if request.parent is not None:
            return request.parent
        rng = derive_rng(request.seed, "plan", request.iteration)
        return request.database.sample_parent(rng, exploit_ratio=self._options.exploit_ratio,
                                              tournament_size=self._options.tournament_size)

    def parent_choices(self, database: ProgramDatabase,
                       suggested: ProgramRecord) -> list[ProgramRecord]:
        top = database.top(self._options.top_programs)
        return top if any(r.id == suggested.id for r in top) else [*top, suggested]

    def messages(self, request: PlanRequest, suggested: ProgramRecord,
                 choices: list[ProgramRecord]) -> list[BaseMessage]:
        options = self._options
        task = render("planner", "task_with_edit" if options.write_edits else "task",
                      count=request.count, iteration=request.iteration, parent_key=suggested.key,
                      rules=views.rules(request.problem))
        user = render(
            "planner", "user",
            readme=request.problem.description.strip(),
            programs="\n".join(views.program_line(record) for record in choices),
            parent_key=suggested.key,
            parent_source=request.repository.program_source(suggested.id).rstrip("\n"),
            parent_figures=views.figures(suggested),
            parent_feedback=views.feedback(suggested),
            history=views.history(request.database, options.history_size),
            notes=views.notes(request.notes, options.notes_size),
            inspirations=views.inspirations(request.inspirations),
            search=f"{request.intensity}; {request.search_note}" if request.search_note else "none",
            guidance="\n".join(f"- {views.clip(text, 1000)}" for text in request.guidance) or "none",
            task=task)
        return [SystemMessage(render("planner", "system")), HumanMessage(user)]


def _plans(batch: PlanBatch | EditedPlanBatch, choices: list[ProgramRecord], count: int,
           suggested: ProgramRecord) -> list[Plan]:
    """The drafts as plans on real parents; AnswerError names an unknown parent. An edit is
    kept only on a plan of the suggested parent, the one program whose code the planner saw."""
    by_key = {record.key: record for record in choices}
    by_id = {record.id: record for record in choices}
    plans: list[Plan] = []
    for index, draft in enumerate(batch.plans[:count]):
        name = draft.parent.strip()
        parent = by_key.get(name) or by_id.get(name) or next(
            (r for r in choices if len(name) >= 7 and r.id.startswith(name)), None)
        if parent is None:
            raise AnswerError(f"plans.{index}.parent: {name!r} is not one of the listed "
                              f"programs ({', '.join(by_key)})")
        plans.append(Plan(
            parent_id=parent.id, summary=views.shorten(draft.summary, 200) or "Untitled change",
            hypothesis=views.clip(draft.hypothesis, TEXT_CHARS),
            change=views.clip(draft.change, TEXT_CHARS),
            expected_effect=views.clip(draft.expected_effect, TEXT_CHARS),
            operator="llm-rewrite" if draft.rewrite else "llm-edit",
            edit=getattr(draft, "edit", "") if parent.id == suggested.id else ""))
    return plans
