"""The model coder: turns a plan into SEARCH/REPLACE blocks (or a region rewrite) and applies them.

It is shown what it needs to succeed: the plan, the whole program, what the evaluator found about
the parent, the rules the critic enforces (the same lists, from agents/checks.py), and on a
revision the critic's reasons and, for a duplicate, which program it repeats. An answer cut at
the length limit is never applied; an edit that does not apply is shown back to the model with
the reason and the region, a bounded number of times. After that the attempt is recorded as
failed; a bad edit never ends the run, but a model that gives no answer at all does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from adrs.agents.evolve_block import RegionError, Split, fingerprint, split_program
from adrs.agents.model import views
from adrs.agents.model.answers import answer_as_text, answer_text, was_cut
from adrs.agents.model.calls import ModelCall
from adrs.agents.model.edits import EditError, apply_edit, parse_edit
from adrs.agents.model.errors import BudgetExhausted, ModelSetupError
from adrs.agents.model.gateway import ModelCallFailed, ModelGateway
from adrs.agents.prompts import render
from adrs.agents.roles import CodeRequest, CodeResult
from adrs.agents.usage import UsageMeter
from adrs.workspace.database import ProgramRecord
from adrs.workspace.repository import program_key

log = logging.getLogger("adrs.model")
DUPLICATE = "duplicates a program already tried"  # the critic's reason (agents/checks.py)


@dataclass(frozen=True)
class CoderOptions:
    max_edit_retries: int = 2


class ModelCoder:
    def __init__(self, gateway: ModelGateway, options: CoderOptions = CoderOptions()) -> None:
        self._gateway = gateway
        self._options = options
        self.model_name = gateway.model

    def write(self, request: CodeRequest) -> CodeResult:
        meter = request.meter or UsageMeter()
        try:
            parts = split_program(self.base_source(request))
        except RegionError as exc:
            return CodeResult(None, error=f"the program to edit: {exc}")
        scope = f"{program_key(request.iteration, request.slot)} code r{request.revision}"
        if request.plan.edit and not request.revision:
            drafted = self.planners_edit(request, parts)
            if drafted is not None:
                return drafted
            meter.add_fault("bad_edit")  # the planner's edit did not apply: this model writes one
        history = self.messages(request)
        error = ""
        for _ in range(self._options.max_edit_retries + 1):
            try:
                answer = self._gateway.ask(ModelCall(role="coder", scope=scope,
                                                     messages=tuple(history)), meter)
            except BudgetExhausted as exc:
                return CodeResult(None, error=f"not written: {exc}")
            except ModelCallFailed as exc:
                raise ModelSetupError(f"{scope}: the coder's model ({self.model_name}) gave no "
                                      f"answer: {exc}") from exc
            try:
                if was_cut(answer):
                    raise EditError("the answer was cut off at the length limit")
                region, note = apply_edit(parse_edit(answer_text(answer)), parts.region,
                                          fixed=(parts.head, parts.tail))
                program = parts.join(region)
            except (EditError, RegionError) as exc:
                meter.add_fault("bad_edit")
                error = str(exc)
                follow_up = render("coder", "cut") if was_cut(answer) else render(
                    "coder", "edit_failed", error=error, region=parts.region.rstrip("\n"))
                history += [AIMessage(content=answer_as_text(answer)), HumanMessage(follow_up)]
                continue
            return CodeResult(program, note=note)
        meter.add_fault("failed_attempt")
        log.info("%s: no edit applied: %s", scope, error)  # the candidate's line says so too
        return CodeResult(None, error=f"no edit applied after "
                                      f"{self._options.max_edit_retries + 1} answers: {error}")

    @staticmethod
    def planners_edit(request: CodeRequest, parts: Split) -> CodeResult | None:
        """The edit the planner wrote with its plan (team lean), applied without a model call;
        None when it does not apply."""
        try:
            region, note = apply_edit(parse_edit(request.plan.edit), parts.region,
                                      fixed=(parts.head, parts.tail))
            return CodeResult(parts.join(region), note=f"the planner's edit: {note}")
        except (EditError, RegionError) as exc:
            log.info("%s: the planner's edit did not apply (%s); asking the coder",
                     program_key(request.iteration, request.slot), exc)
            return None

    @staticmethod
    def base_source(request: CodeRequest) -> str:
        """A revision edits the attempt the critic sent back; a first attempt, the parent."""
        if request.revision and request.previous_source is not None:
            return request.previous_source
        return request.parent_source

    def messages(self, request: CodeRequest) -> list[BaseMessage]:
        plan = request.plan
        revising = bool(request.revision and request.previous_source is not None)
        task = render("coder", "task_rewrite" if plan.operator == "llm-rewrite" else "task_edit")
        if revising:
            reasons = "\n".join(f"- {reason}" for reason in request.feedback) or "- (no reason given)"
            revise = render("coder", "revise", reasons=reasons)
            repeated = self.duplicated(request)
            if repeated is not None and request.database is not None:
                revise += "\n" + render("coder", "duplicate", key=repeated.key,
                                        attempt=views.attempt_line(repeated, request.database))
            task = revise + "\n" + task
        readme = request.problem.description.strip() if request.problem else "(not given)"
        label = f"(your previous attempt, revision {request.revision - 1})" if revising \
            else "(the parent)"
        parent = self.parent(request)
        user = render("coder", "user", readme=readme, rules=views.rules(request.problem),
                      summary=plan.summary, change=plan.change, hypothesis=plan.hypothesis,
                      expected_effect=plan.expected_effect, label=label,
                      source=self.base_source(request).rstrip("\n"),
                      parent_key=parent.key if parent else "the parent",
                      parent_figures=views.figures(parent) if parent else "not known",
                      parent_findings=views.findings(parent) if parent else "none",
                      parent_feedback=views.feedback(parent) if parent else "none", task=task)
        return [SystemMessage(render("coder", "system")), HumanMessage(user)]

    @staticmethod
    def parent(request: CodeRequest) -> ProgramRecord | None:
        if request.database is None:
            return None
        try:
            return request.database.get(request.plan.parent_id)
        except KeyError:
            return None

    @staticmethod
    def duplicated(request: CodeRequest) -> ProgramRecord | None:
        """The program a duplicate repeats (the critic compares syntax trees, as here)."""
        if request.database is None or request.previous_source is None or not any(
                DUPLICATE in reason for reason in request.feedback):
            return None
        mark = fingerprint(request.previous_source)
        return next((r for r in request.database.records if r.message.fingerprint == mark), None)
