"""Ask for a structured answer, repairing or re-asking until it fits (bounded)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel

from adrs.agents.model.answers import AnswerError, answer_as_text, parse_structured, tool_spec, was_cut
from adrs.agents.model.calls import ModelCall
from adrs.agents.model.gateway import ModelCallFailed, ModelGateway
from adrs.agents.prompts import render
from adrs.agents.usage import UsageMeter

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def ask_structured(gateway: ModelGateway, *, role: str, scope: str,
                   messages: list[BaseMessage], schema: type[M], tool: str, meter: UsageMeter,
                   max_repairs: int, check: Callable[[M], T]) -> T:
    """The answer as `schema`, passed through `check` (which raises AnswerError to refuse it).

    A malformed answer is repaired locally when it can be (counted as `repaired`), otherwise
    the model sees its answer and what was wrong, and is asked again, at most `max_repairs`
    times (each counted as `malformed`). ModelCallFailed when no usable answer came."""
    history = list(messages)
    spec = tool_spec(schema, tool)
    error = ""
    for _ in range(max_repairs + 1):
        answer = gateway.ask(ModelCall(role=role, scope=scope, messages=tuple(history),
                                       tools=(spec,), tool_choice=tool), meter)
        try:
            value, repaired = parse_structured(answer, schema, tool)
            result = check(value)
        except AnswerError as exc:
            meter.add_fault("malformed")
            error = str(exc)
            # The answer goes back as plain text (a tool call without its tool result is not
            # allowed in a conversation), so the turns keep alternating.
            history += [AIMessage(content=answer_as_text(answer)),
                        HumanMessage(render("common", "repair_cut" if was_cut(answer) else "repair",
                                            error=error, tool=tool))]
            continue
        if repaired:
            meter.add_fault("repaired")
        return result
    raise ModelCallFailed("malformed", f"no usable {tool} answer after {max_repairs + 1} "
                                       f"tries; last problem: {error}")
