"""The human checkpoint: with `review` on, every plan waits for a person before it is coded.

Each candidate's branch starts with the `review` node. It raises a LangGraph `interrupt` carrying
the plan; the checkpointer saves the pause, so a run stopped there (even killed) resumes at the
same question. The person answers from the terminal (adrs/cli/reviewing.py) or from the viewer,
which posts into the run's mailbox (.adrs/reviews/<interrupt id>.json); the driver resumes the
graph with `Command(resume={interrupt id: answer})`. The answer may rewrite the hypothesis or
redirect the plan to another scored parent; the person's name and words reach the commit as
trailers (workspace/messages.py: Reviewed-by, Review-Hypothesis, Review-Parent).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Command, Send, StateSnapshot, interrupt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from adrs.agents.interface import Plan
from adrs.graph.context import RunContext
from adrs.graph.rundir import RunError, RunPaths
from adrs.graph.state import CandidateInput
from adrs.workspace.messages import SCORED_STATUSES, Review
from adrs.workspace.repository import ProgramRecord, RunRepository, WorkspaceError, program_key

_INTERRUPT_ID = re.compile(r"^[0-9a-f]{8,64}$")
HYPOTHESIS_MAX = 4000


class ReviewAnswer(BaseModel):
    """A person's answer to one plan: approve it as it is, or change its hypothesis or parent."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    reviewer: str = Field(description="Who answers; recorded as the Reviewed-by trailer.")
    hypothesis: str = Field("", description="A new hypothesis for the plan; empty keeps the planner's.")
    parent: str = Field("", description="Key or commit of a scored program to start from instead; "
                                        "empty keeps the planner's parent.")

    @field_validator("reviewer", "parent")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("hypothesis")
    @classmethod
    def _text(cls, value: str) -> str:
        text = value.strip()
        if len(text) > HYPOTHESIS_MAX:
            raise ValueError(f"the hypothesis is {len(text)} characters long (at most {HYPOTHESIS_MAX})")
        return text


class PendingReview(BaseModel):
    """A plan waiting for a person: what the interrupt carries, plus its id once raised."""

    model_config = ConfigDict(frozen=True)
    id: str = Field("", description="The LangGraph interrupt id; answers are keyed by it.")
    key: str = Field(description="The key the candidate will have, e.g. i0007-s1.")
    iteration: int
    slot: int
    summary: str
    hypothesis: str
    change: str
    expected_effect: str
    operator: str
    parent_id: str
    parent_key: str
    parent_score: float | None
    error: str = Field("", description="Why the previous answer to this plan was refused.")


Answerer = Callable[[list[PendingReview]], dict[str, ReviewAnswer]]


def check_answer(answer: ReviewAnswer, repository: RunRepository) -> ProgramRecord | None:
    """The parent the answer chooses (None: the planner's), or RunError saying in one line why
    the run cannot take the answer."""
    if not answer.reviewer:
        raise RunError("the answer needs the reviewer's name")
    if not answer.parent:
        return None
    try:
        parent = repository.record(repository.resolve(answer.parent))
    except WorkspaceError as exc:
        raise RunError(f"parent {answer.parent}: {exc}") from exc
    if parent.status not in SCORED_STATUSES:
        raise RunError(f"parent {answer.parent} is {parent.status}: only a scored program can be one")
    return parent


def _apply(plan: Plan, answer: ReviewAnswer, chosen: ProgramRecord | None) -> tuple[Plan, Review]:
    update: dict[str, str] = {}
    review = {"reviewer": answer.reviewer}
    if answer.hypothesis and answer.hypothesis != plan.hypothesis:
        update["hypothesis"] = review["hypothesis"] = answer.hypothesis
    if chosen is not None and chosen.id != plan.parent_id:
        update["parent_id"] = review["parent"] = chosen.id
        review["planned_parent"] = plan.parent_id
    if update:  # a lean planner's own edit was written for the plan as it was: the coder redoes it
        update["edit"] = ""
    return plan.model_copy(update=update), Review(**review)


def review(state: CandidateInput, runtime: Runtime[RunContext]) -> Command[Literal["code"]]:
    """Ask a person about the plan, then code their version of it (the slot's plan node sends
    the candidate here instead of to `code` when the run reviews).

    An answer the run cannot take is asked again with the reason, so a bad answer never sits
    in the checkpoint where every resume would trip over it."""
    ctx = runtime.context
    plan = Plan.model_validate(state["plan"])
    parent = ctx.repository.record(plan.parent_id)
    question = _question(plan, parent, state["iteration"], state["slot"]).model_dump(exclude={"id"})
    while True:
        try:
            answer = ReviewAnswer.model_validate(interrupt(question))
            chosen = check_answer(answer, ctx.repository)
            break
        except (ValidationError, RunError) as exc:
            question = {**question, "error": str(exc).splitlines()[0]}
    reviewed, record = _apply(plan, answer, chosen)
    return Command(goto=Send("code", {**state, "plan": reviewed.model_dump(),
                                      "review": record.model_dump()}))


def _question(plan: Plan, parent: ProgramRecord, iteration: int, slot: int) -> PendingReview:
    return PendingReview(
        key=program_key(iteration, slot), iteration=iteration, slot=slot, summary=plan.summary,
        hypothesis=plan.hypothesis, change=plan.change, expected_effect=plan.expected_effect,
        operator=plan.operator, parent_id=parent.id, parent_key=parent.key,
        parent_score=parent.score)


def pending_reviews(snapshot: StateSnapshot) -> list[PendingReview]:
    """The plans a paused run waits on, in candidate order."""
    found = [PendingReview.model_validate({**item.value, "id": item.id})
             for item in snapshot.interrupts if isinstance(item.value, dict) and "key" in item.value]
    return sorted(found, key=lambda pending: (pending.iteration, pending.slot))


def resume_command(snapshot: StateSnapshot, answerer: Answerer | None) -> Command | None:
    """What the driver streams next: the person's answers if the run is paused and someone can
    answer, else None (the run stopped, or it stays paused for a later `adrs resume`)."""
    pending = pending_reviews(snapshot)
    if not pending or answerer is None:
        return None
    answers = answerer(pending)
    if not answers:
        raise RunError("the run is paused for review and no answer came")
    return Command(resume={review_id: answer.model_dump() for review_id, answer in answers.items()})


class Mailbox:
    """Answers posted for a paused run by another process (the viewer), one file per interrupt."""

    def __init__(self, paths: RunPaths) -> None:
        self.folder = paths.meta / "reviews"

    def post(self, review_id: str, answer: ReviewAnswer, pending: Iterable[PendingReview],
             repository: RunRepository) -> None:
        """Leave an answer for the run; RunError (one line) if it cannot be taken."""
        if review_id not in {item.id for item in pending}:
            raise RunError(f"no plan is waiting for review under id {review_id[:16]!r}")
        check_answer(answer, repository)
        self.folder.mkdir(exist_ok=True)
        target = self._file(review_id)
        scratch = target.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(answer.model_dump_json(), encoding="utf-8")
        os.replace(scratch, target)  # atomic: the run never reads half an answer

    def take(self, review_ids: Iterable[str]) -> dict[str, ReviewAnswer]:
        """The answers waiting for these ids, removed from the mailbox (an answer taken by a run
        killed before its next checkpoint is asked again)."""
        answers: dict[str, ReviewAnswer] = {}
        for review_id in review_ids:
            path = self._file(review_id)
            if not path.is_file():
                continue
            try:
                answers[review_id] = ReviewAnswer.model_validate(json.loads(path.read_text("utf-8")))
            except (ValueError, ValidationError, OSError) as exc:
                raise RunError(f"review answer {path.name} is unreadable; answer again "
                               f"({str(exc).splitlines()[0]})") from exc
            finally:
                path.unlink(missing_ok=True)
        return answers

    def _file(self, review_id: str) -> Path:
        if not _INTERRUPT_ID.match(review_id):
            raise RunError(f"not a review id: {review_id[:40]!r}")
        return self.folder / f"{review_id}.json"
