"""The model coder: turns a plan into SEARCH/REPLACE blocks (or a region rewrite) and applies them.

An edit that does not apply is shown back to the model with the reason and the region, a bounded
number of times; after that the attempt is recorded as failed. A bad edit never ends the run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from adrs.agents.evolve_block import RegionError, split_program
from adrs.agents.model.answers import answer_text
from adrs.agents.model.calls import ModelCall
from adrs.agents.model.edits import EditError, apply_edit, parse_edit
from adrs.agents.model.gateway import ModelCallFailed, ModelGateway
from adrs.agents.prompts import render
from adrs.agents.roles import CodeRequest, CodeResult
from adrs.agents.usage import UsageMeter
from adrs.workspace.repository import program_key

log = logging.getLogger("adrs.model")


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
        source = self.base_source(request)
        try:
            parts = split_program(source)
        except RegionError as exc:
            return CodeResult(None, error=f"the program to edit: {exc}")
        history = self.messages(request)
        scope = f"{program_key(request.iteration, request.slot)} code r{request.revision}"
        error = ""
        for _ in range(self._options.max_edit_retries + 1):
            try:
                answer = self._gateway.ask(ModelCall(role="coder", scope=scope,
                                                     messages=tuple(history)), meter)
            except ModelCallFailed as exc:
                meter.add_fault("failed_attempt")
                return CodeResult(None, error=f"the coder's model failed: {exc}")
            text = answer_text(answer)
            try:
                region, note = apply_edit(parse_edit(text), parts.region)
                program = parts.join(region)
            except (EditError, RegionError) as exc:
                meter.add_fault("bad_edit")
                error = str(exc)
                history += [AIMessage(content=text), HumanMessage(render(
                    "coder", "edit_failed", error=error, region=parts.region.rstrip("\n")))]
                continue
            return CodeResult(program, note=note)
        meter.add_fault("failed_attempt")
        log.info("%s: no edit applied: %s", scope, error)  # the candidate's line says so too
        return CodeResult(None, error=f"no edit applied after "
                                      f"{self._options.max_edit_retries + 1} answers: {error}")

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
            task = render("coder", "revise", reasons=reasons) + "\n" + task
        readme = request.problem.description.strip() if request.problem else "(not given)"
        label = f"(your previous attempt, revision {request.revision - 1})" if revising \
            else "(the parent)"
        user = render("coder", "user", readme=readme, summary=plan.summary, change=plan.change,
                      hypothesis=plan.hypothesis, expected_effect=plan.expected_effect,
                      label=label, source=self.base_source(request).rstrip("\n"), task=task)
        return [SystemMessage(render("coder", "system")), HumanMessage(user)]
