"""The run context handed to every node: settings and collaborators, never global state."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from adrs.agents.interface import Team
from adrs.graph.pipeline import Pipeline
from adrs.graph.settings import RunSettings
from adrs.tools.evaluation import EvaluationTool
from adrs.tools.problem import Problem
from adrs.workspace.repository import RunRepository

T = TypeVar("T")


@dataclass(frozen=True)
class RunContext:
    settings: RunSettings
    problem: Problem
    repository: RunRepository
    tool: EvaluationTool
    team: Team
    pipeline: Pipeline
    pool: ThreadPoolExecutor  # where blocking calls (evaluations, a brain's sync calls) wait
    isolation: str = ""  # what candidates run under: every commit's Isolation trailer

    async def call(self, role: Any, method: str, request: Any) -> Any:
        """A role's answer without blocking the event loop: its async twin (`a` + method) if it
        has one, else the sync method on the pool's threads."""
        native = getattr(role, f"a{method}", None)
        if native is not None:
            return await native(request)
        return await self.blocking(functools.partial(getattr(role, method), request))

    async def blocking(self, function: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, function)
