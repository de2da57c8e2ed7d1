"""The model critic: the static checks first (free), then a model's review of the edit."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from adrs.agents.checks import static_review
from adrs.agents.model import views
from adrs.agents.model.asking import ask_structured
from adrs.agents.model.errors import BudgetExhausted
from adrs.agents.model.gateway import ModelCallFailed, ModelGateway
from adrs.agents.model.schemas import Review
from adrs.agents.prompts import render
from adrs.agents.roles import ReviewRequest
from adrs.agents.schemas import Verdict
from adrs.agents.usage import UsageMeter
from adrs.workspace.repository import program_key

log = logging.getLogger("adrs.model")
TOOL = "submit_verdict"
STATIC_PASSED = "static checks passed"


@dataclass(frozen=True)
class CriticOptions:
    max_repairs: int = 2


class ModelCritic:
    def __init__(self, gateway: ModelGateway, options: CriticOptions = CriticOptions()) -> None:
        self._gateway = gateway
        self._options = options
        self.model_name = gateway.model

    def review(self, request: ReviewRequest) -> Verdict:
        findings = static_review(request.parent_source, request.candidate_source,
                                 known_fingerprints=request.known_fingerprints,
                                 forbidden_imports=request.problem.spec.critic.forbidden_imports)
        if findings:  # no model time on what the checks already settle
            return Verdict(decision=findings[0].severity,
                           reasons=tuple(finding.reason for finding in findings))
        meter = request.meter or UsageMeter()
        scope = f"{program_key(request.iteration, request.slot)} review r{request.revision}"
        try:
            review = ask_structured(self._gateway, role="critic", scope=scope,
                                    messages=self.messages(request), schema=Review, tool=TOOL,
                                    meter=meter, max_repairs=self._options.max_repairs,
                                    check=lambda answer: answer)
        except ModelCallFailed as exc:
            # The checks passed; losing the candidate to a flaky review (or to the budget, which
            # an evaluation does not touch) would waste the plan.
            if not isinstance(exc, BudgetExhausted):
                meter.add_fault("failed_attempt")
            log.warning("%s: no model review: %s", scope, exc)
            return Verdict(decision="approve",
                           reasons=(STATIC_PASSED, f"no model review: {views.shorten(str(exc), 160)}"))
        reasons = tuple(views.shorten(reason, 300) for reason in review.reasons if reason.strip())
        return Verdict(decision=review.decision, reasons=reasons or ("the model gave no reasons",))

    def messages(self, request: ReviewRequest) -> list[BaseMessage]:
        plan = request.plan
        user = render("critic", "user", readme=request.problem.description.strip(),
                      summary=plan.summary, change=plan.change, hypothesis=plan.hypothesis,
                      expected_effect=plan.expected_effect, revision=request.revision,
                      diff=views.region_diff(request.parent_source, request.candidate_source))
        return [SystemMessage(render("critic", "system")), HumanMessage(user)]
