"""The run context handed to every node: settings and collaborators, never global state."""

from __future__ import annotations

import time
from dataclasses import dataclass

from adrs.agents.interface import Team
from adrs.graph.settings import RunSettings
from adrs.tools.evaluation import EvaluationTool
from adrs.tools.problem import Problem
from adrs.workspace.repository import RunRepository


@dataclass(frozen=True)
class RunContext:
    settings: RunSettings
    problem: Problem
    repository: RunRepository
    tool: EvaluationTool
    team: Team
    deadline: float | None = None  # time.monotonic() value after which the run stops
    isolation: str = ""  # what candidates run under: every commit's Isolation trailer

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline
