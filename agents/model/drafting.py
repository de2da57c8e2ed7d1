"""`adrs new` with a model: the model drafts README.md and evaluator.py from the researcher's
description and simulator, starting from the templates; the researcher edits the drafts."""

from __future__ import annotations

import ast
import re

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from adrs.agents import syntax
from adrs.agents.model.answers import AnswerError
from adrs.agents.model.asking import ask_structured
from adrs.agents.model.config import ModelSettings
from adrs.agents.model.team import role_gateway
from adrs.agents.prompts import render
from adrs.agents.usage import UsageMeter

TOOL = "write_problem"
SECTIONS = ("Goal", "Interface", "Constraints", "Metric")


class ProblemDraft(BaseModel):
    """First drafts of a new problem's README.md and evaluator.py."""

    readme: str = Field(description="README.md: sections ## Goal, ## Interface, ## Constraints, "
                                    "## Metric.")
    evaluator: str = Field(description="evaluator.py, the whole file: evaluate(program_path, "
                                       "workloads=None) and evaluate_heldout(program_path).")


def draft_problem(settings: ModelSettings, *, name: str, description: str, simulator: str,
                  readme: str, evaluator: str, model: BaseChatModel | None = None) -> ProblemDraft:
    """The model's drafts (the planner's model); ModelCallFailed when none usable came."""
    role = next(iter(settings.model_roles()), "planner")  # the planner's model, if it has one
    gateway = role_gateway(settings, role, chat=model)
    messages = [SystemMessage(render("drafting", "system")),
                HumanMessage(render("drafting", "user", problem=name, description=description.strip(),
                                    simulator=simulator.rstrip(), readme=readme.rstrip(),
                                    evaluator=evaluator.rstrip(), tool=TOOL))]
    return ask_structured(gateway, role=role, scope=f"adrs new {name}", messages=messages,
                          schema=ProblemDraft, tool=TOOL, meter=UsageMeter(),
                          max_repairs=settings.max_repairs, check=check_draft)


def check_draft(draft: ProblemDraft) -> ProblemDraft:
    """Refuse (for the model to fix) a README without its sections or an evaluator that cannot run."""
    missing = [s for s in SECTIONS if not re.search(rf"^#+\s*{s}\b", draft.readme, re.M | re.I)]
    if missing:
        raise AnswerError(f"README.md lacks the section(s) {', '.join(missing)}")
    try:
        tree = syntax.parse(draft.evaluator)
    except SyntaxError as exc:
        raise AnswerError(f"evaluator.py does not parse: line {exc.lineno}: {exc.msg}") from exc
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    if "evaluate" not in functions:
        raise AnswerError("evaluator.py defines no evaluate(program_path)")
    return draft
