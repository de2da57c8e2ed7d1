"""In-process stand-ins for the benchmarks: chat models that answer at once (bench/answers.py)
and an evaluation tool that scores at once, so what is timed is the orchestration alone.

The instant tool reads the constant X from the candidate's text with a regular expression; no
candidate code runs in this process.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from adrs.agents.model.config import ModelSettings
from adrs.agents.model.team import model_team
from adrs.tools.evaluation import EvaluationResult, EvaluationStatus

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answers import ROLE_TOOLS, answer  # noqa: E402

MODEL = ModelSettings(planner="scripted", coder="scripted", critic="scripted", evaluator="scripted",
                      record=False)


class ScriptedModel(GenericFakeChatModel):
    """Answers like the loopback server, without a network."""

    role: str = "coder"
    messages: Any = Field(default=iter(()))

    def bind_tools(self, tools, *, tool_choice=None, **kwargs):  # noqa: ANN001 - LangChain's shape
        return self

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs):  # noqa: ANN001
        tool = dict(ROLE_TOOLS).get(self.role)
        body = {"tools": [{"function": {"name": tool}}] if tool else [],
                "messages": [{"role": "user" if m.type == "human" else m.type,
                              "content": m.content} for m in messages]}
        reply = answer(body)
        calls = [{"name": c["function"]["name"], "args": json.loads(c["function"]["arguments"]),
                  "id": c["id"]} for c in reply.get("tool_calls") or []]
        message = AIMessage(content=reply.get("content") or "", tool_calls=calls,
                            usage_metadata={"input_tokens": 100, "output_tokens": 10,
                                            "total_tokens": 110})
        return ChatResult(generations=[ChatGeneration(message=message)])


def scripted_team(run_root: Path):
    models = {role: ScriptedModel(role=role) for role in ("planner", "coder", "critic", "evaluator")}
    return model_team(MODEL, run_root=run_root, chat_models=models)


class InstantTool:
    """An evaluation tool that scores the bench problems' X at once, without running anything."""

    def evaluate(self, program_source: str, *, split: str = "train",
                 workloads: list[str] | None = None) -> EvaluationResult:
        found = re.findall(r"^X = (-?\d+)$", program_source, flags=re.MULTILINE)
        if not found:
            return EvaluationResult(status=EvaluationStatus.INVALID, error="no X")
        score = 1.0 / (1.0 + abs(int(found[-1]) - 500) / 100)
        return EvaluationResult(status=EvaluationStatus.OK, combined_score=score,
                                metrics={"x": float(found[-1])}, per_workload={"w": score})
