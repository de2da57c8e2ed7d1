"""The steady state of a run: K candidates in flight, every decision ordered by candidate number.

Candidates are numbered 1, 2, 3, … (number n is key i{(n-1)//K+1}-s{(n-1)%K}: K slots per
iteration). Slot s works on n = s+1, s+1+K, s+1+2K, … one after the other, so K candidates are
in flight and a slot plans its next one as soon as its last one is committed.

What makes the history the same for a seed and K, whatever order candidates finish in:

- Candidate n is planned from the *snapshot at n-K*: the baseline and candidates 1…n-K, no more.
  It waits until those are all settled (usually they are: n-K is the slot's own last candidate).
- A candidate is committed to git as soon as it is done, but folded into the program database,
  the search strategy and the best-so-far in key order (one that finishes early waits its turn).
- The choice for n (island, parent, inspirations; the stop rules; the plans of a sequential,
  i.e. stateful, planner) is made when n-K is folded, right then, in key order.
- On resume the same folds and choices are replayed from git, which rebuilds the same state.

Only the wall-time budget reads a clock. It is judged at fold time too, so a stop is always a
suffix of the numbers (every candidate before it is planned and committed; at most K planned
before the clock ran out still run), and it stops planning, never changes a plan.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

from adrs.agents.interface import (
    Inspiration,
    Plan,
    PlanRequest,
    ResearchNote,
    SearchStrategy,
    Selection,
    Team,
    add_counts,
    add_usage,
    derive_rng,
    total_dollars,
    total_tokens,
)
from adrs.graph.settings import RunSettings
from adrs.tools.problem import Problem
from adrs.workspace.database import ProgramDatabase
from adrs.workspace.records import ProgramRecord
from adrs.workspace.repository import RunRepository, program_key
from adrs.workspace.steering import SteeringLog

NOTES_SHOWN = 12  # research notes a plan request carries (the latest, oldest first)


@dataclass(frozen=True)
class Ticket:
    """Everything decided about candidate n before it is planned."""

    number: int
    iteration: int
    slot: int
    request: PlanRequest | None  # None: do not plan it (see `stop`)
    plans: list[Plan] | None = None  # made already, by a sequential planner
    stop: str = ""  # why the run plans nothing from here on

    @property
    def key(self) -> str:
        return program_key(self.iteration, self.slot)


class Pipeline:
    """The run's shared, in-memory state; one per process, rebuilt from git by `start`."""

    def __init__(self, *, settings: RunSettings, problem: Problem, repository: RunRepository,
                 team: Team, strategy: SearchStrategy, deadline: float | None = None) -> None:
        self.settings, self.problem, self.repository = settings, problem, repository
        self.deadline = deadline  # time.monotonic() after which nothing more is planned
        self.team, self.strategy = team, strategy
        self.width = settings.width
        self.total = settings.iterations * settings.width
        self.database = ProgramDatabase()
        self.settled = 0  # candidates 1..settled are folded
        self.usage: dict[str, dict[str, float]] = {}
        self.faults: dict[str, int] = {}
        self.evaluations = 0
        self._early: dict[int, ProgramRecord] = {}  # committed, waiting for their turn
        self._tickets: dict[int, Ticket] = {}
        self._stops: dict[int, str] = {}  # first candidate not planned -> why
        self._notes: deque[ResearchNote] = deque(maxlen=NOTES_SHOWN)
        # A person's steering notes, read from git again only when one was added: the planner
        # of iteration n reads those given before it started.
        self._steering = SteeringLog(repository.path)
        self._changed = asyncio.Event()
        self._publishing = threading.Lock()
        self._published: Future[None] | None = None  # the latest publish_best on the pool

    # -- numbering ----------------------------------------------------------------------

    def number(self, iteration: int, slot: int) -> int:
        return (iteration - 1) * self.width + slot + 1

    def place(self, number: int) -> tuple[int, int]:
        """(iteration, slot) of candidate `number`."""
        return (number - 1) // self.width + 1, (number - 1) % self.width

    def view(self, number: int) -> ProgramDatabase:
        """The snapshot candidate `number` was planned from: baseline and 1..number-K."""
        return self.database.prefix(1 + max(0, number - self.width))

    # -- lifecycle ----------------------------------------------------------------------

    def start(self, records: list[ProgramRecord]) -> None:
        """Fold what git holds, replaying every choice in key order (a resume rebuilds the very
        state the killed process had)."""
        baseline, *candidates = records
        self._fold(baseline)
        for number in range(1, self.width + 1):
            self._prepare(number)
        for record in candidates:
            self.settle(self.number(record.iteration, record.slot), record)
        self.publish_best()

    def publish_best(self) -> None:
        """Point refs/heads/best at the best program folded so far. Called off the event loop
        after a commit (moving a ref writes files); whichever call runs last writes the latest
        best, so calls finishing out of order cannot leave an older one."""
        with self._publishing:
            best = self.database.best
            if best.id != self.repository.best_sha:
                self.repository.set_best(best.id, checkout=False)

    def publish_best_soon(self, pool: Executor) -> None:
        """publish_best on `pool`, not waited for: the ref is derived (a resume and the report
        set it again), so no candidate should wait for its files. A failure is raised here, by
        the next call."""
        if self._published is not None and self._published.done():
            self._published.result()
        if self.database.best.id != self.repository.best_sha:  # most commits change nothing
            self._published = pool.submit(self.publish_best)

    def settle(self, number: int, record: ProgramRecord) -> None:
        """Candidate `number` is committed; fold it, and any that waited on it, in key order."""
        if number <= self.settled or number in self._early:
            return  # a resumed step committing again
        self._early[number] = record
        while self.settled + 1 in self._early:
            self.settled += 1
            self._fold(self._early.pop(self.settled))
            self._tickets.pop(self.settled, None)
            self._prepare(self.settled + self.width)
        self._changed.set()

    async def ticket(self, number: int) -> Ticket:
        """Candidate `number`'s ticket, once its snapshot is complete."""
        while number not in self._tickets:
            if number <= self.settled:
                raise RuntimeError(f"candidate {number} is settled already; it has no ticket")
            self._changed.clear()
            await self._changed.wait()
        return self._tickets[number]

    def stop_reason(self) -> str:
        return self._stops[min(self._stops)] if self._stops else ""

    # -- folding and choosing -----------------------------------------------------------

    def _fold(self, record: ProgramRecord) -> None:
        self.database = self.database.with_record(record)
        self.strategy.observe(record, len(self.repository.program_source(record.id)))
        self.usage = add_usage(self.usage, record.message.usage)
        self.faults = add_counts(self.faults, record.message.faults)
        if record.status in ("evaluated", "failed"):
            self.evaluations += 1
        note = self.repository.note(record.id)
        if note:
            self._notes.append(ResearchNote(key=record.key, text=note.strip()))

    def _prepare(self, number: int) -> None:
        iteration, slot = self.place(number)
        reason = self._rule(number)
        if reason:
            self._stops.setdefault(number, reason)
            self._tickets[number] = Ticket(number, iteration, slot, None, stop=reason)
            return
        rng = derive_rng(self.settings.seed, "select", program_key(iteration, slot))
        choice = self.strategy.select(self.database, rng)
        request = self._request(iteration, slot, choice)
        plans = None
        if getattr(self.team.planner, "sequential", False):
            plans = self.team.planner.plan(request)
        self._tickets[number] = Ticket(number, iteration, slot, request, plans)

    def _rule(self, number: int) -> str:
        """The deterministic stop rules, judged on the snapshot the candidate would see."""
        settings = self.settings
        if reason := self.team.spend.stop_reason():  # a model call was not sent: over a budget
            return reason
        if settings.max_dollars is not None and total_dollars(self.usage) >= settings.max_dollars:
            return (f"spent ${total_dollars(self.usage):.4f} of the ${settings.max_dollars:g} "
                    "model budget")
        if settings.max_tokens is not None and total_tokens(self.usage) >= settings.max_tokens:
            return f"used {total_tokens(self.usage):,} of the {settings.max_tokens:,} model tokens budget"
        if number > self.total:  # "completed" only when candidates were evaluated
            return (f"completed {settings.iterations} iterations" if self.evaluations else
                    f"ran {settings.iterations} iterations without evaluating a candidate")
        if settings.max_evaluations is not None and self.evaluations >= settings.max_evaluations:
            return f"used the budget of {settings.max_evaluations} evaluations"
        if settings.target_score is not None and self.database.best.score >= settings.target_score:
            return f"reached the target score {settings.target_score}"
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return f"used the wall-time budget of {settings.max_minutes} minutes"
        return ""

    def _request(self, iteration: int, slot: int, choice: Selection) -> PlanRequest:
        repo = self.repository
        return PlanRequest(
            iteration=iteration, slot=slot, count=1, database=self.database, repository=repo,
            problem=self.problem, seed=self.settings.seed, notes=tuple(self._notes),
            parent=choice.parent, island=choice.island, intensity=choice.intensity,
            top=choice.top, search_note=choice.reason,
            # A person's steering notes (adrs steer) given before this iteration, oldest first.
            guidance=tuple(note.text for note in self._steering.for_iteration(iteration)),
            inspirations=tuple(Inspiration(record=r, source=repo.program_source(r.id))
                               for r in choice.inspirations))

    def summary(self) -> dict[str, Any]:
        """The run's figures as the graph's state reports them."""
        best = self.database.best
        return {"best_id": best.id, "best_score": best.score, "evaluations": self.evaluations,
                "iteration": self.settled // self.width, "usage": self.usage,
                "faults": self.faults}
