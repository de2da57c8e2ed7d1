"""Scripted chat models for the model brain's tests (no network, no key)."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

_ids = itertools.count(1)
Answer = AIMessage | str | Callable[[list[BaseMessage]], AIMessage]


class ScriptedChatModel(GenericFakeChatModel):
    """Answers from a script, in order, and keeps every conversation it was sent.

    bind_tools returns the model itself (the script already knows which tool it calls); an
    answer may be a function of the conversation."""

    received: list[list[BaseMessage]] = Field(default_factory=list)
    bound: list[dict[str, Any]] = Field(default_factory=list)

    def bind_tools(self, tools, *, tool_choice=None, **kwargs):  # noqa: ANN001 - LangChain's shape
        self.bound.append({"tools": [t["function"]["name"] for t in tools],
                           "tool_choice": tool_choice})
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # noqa: ANN001
        self.received.append(list(messages))
        answer = next(self.messages)
        if callable(answer):
            answer = answer(list(messages))
        message = AIMessage(content=answer) if isinstance(answer, str) else answer
        return ChatResult(generations=[ChatGeneration(message=message)])

    def left(self) -> list[Any]:
        """What the script still holds (tests check it is used up)."""
        return list(self.messages)


def scripted(*answers: Answer) -> ScriptedChatModel:
    return ScriptedChatModel(messages=iter(answers))


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {"input_tokens": prompt, "output_tokens": completion,
            "total_tokens": prompt + completion}


def call(name: str, args: dict[str, Any], *, tokens: tuple[int, int] = (100, 10),
         extra: tuple[tuple[str, dict[str, Any]], ...] = ()) -> AIMessage:
    """An answer calling tool `name` (and the `extra` tools after it)."""
    calls = [{"name": n, "args": a, "id": f"call_{next(_ids)}"} for n, a in ((name, args), *extra)]
    return AIMessage(content="", tool_calls=calls, usage_metadata=usage(*tokens))


def broken_call(name: str, raw_args: str, *, tokens: tuple[int, int] = (100, 10)) -> AIMessage:
    """A tool call whose arguments are not valid JSON (e.g. cut off by a length limit)."""
    return AIMessage(content="", invalid_tool_calls=[
        {"name": name, "args": raw_args, "id": f"call_{next(_ids)}", "error": "not JSON",
         "type": "invalid_tool_call"}], usage_metadata=usage(*tokens))


def text(content: str, *, tokens: tuple[int, int] = (100, 10)) -> AIMessage:
    return AIMessage(content=content, usage_metadata=usage(*tokens))


def edit(search: str, replace: str, *, tokens: tuple[int, int] = (100, 10)) -> AIMessage:
    """A coder's answer with one SEARCH/REPLACE block."""
    return text(f"Here is the edit.\n\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n"
                f">>>>>>> REPLACE\n", tokens=tokens)


def plan(parent: str, summary: str, *, rewrite: bool = False) -> dict[str, Any]:
    return {"parent": parent, "summary": summary, "hypothesis": f"Because: {summary}.",
            "change": summary, "expected_effect": "combined_score up", "rewrite": rewrite}


def scripted_toy_run(root: Path, settings: Any, fakes: dict[str, ScriptedChatModel]) -> tuple[Path, dict]:
    """A whole run of the toy problem (copied under `root`) with these scripted models as the
    team: the run's folder and its final state."""
    from adrs.agents.model.team import model_team
    from adrs.graph.runner import create_run, execute
    from adrs.tools.problem import Problem
    from tests.conftest import FIXTURES

    shutil.copytree(FIXTURES / "toy", root / "toy")
    run_dir = root / "run"
    create_run(Problem.load(root / "toy"), settings, run_dir)
    team = model_team(settings.model, run_root=run_dir, chat_models=fakes)
    return run_dir, execute(run_dir, team=team)
