"""Compact text views of programs, results and history, as the prompts show them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from adrs.agents.checks import FORBIDDEN_CALLS, FORBIDDEN_NAMES
from adrs.agents.evolve_block import RegionError, split_program
from adrs.agents.prompts import render
from adrs.agents.roles import Inspiration, ResearchNote
from adrs.tools.problem import DEFAULT_FORBIDDEN_IMPORTS, Problem
from adrs.workspace.database import ProgramDatabase, ProgramRecord

FEEDBACK_CHARS = 1500
LINE_CHARS = 240


def shorten(text: str, limit: int = LINE_CHARS) -> str:
    """One line of at most `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def clip(text: str, limit: int = FEEDBACK_CHARS) -> str:
    """A block of text cut to `limit` characters, saying so."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rstrip() + "\n[… cut]"


def number(value: float | None) -> str:
    return "none" if value is None else f"{value:.4f}"


def figures(record: ProgramRecord) -> str:
    """score=0.4132, then the other metrics, one line."""
    parts = [f"combined_score={number(record.score)}"]
    parts += [f"{name}={value:.6g}" for name, value in sorted(record.message.metrics.items())]
    return ", ".join(parts)


def workloads(per_workload: dict[str, float]) -> str:
    if not per_workload:
        return "not reported"
    return ", ".join(f"{name} {value:.4f}" for name, value in sorted(per_workload.items()))


def program_line(record: ProgramRecord) -> str:
    return f"- {record.key}: score {number(record.score)} — {shorten(record.summary, 120)}"


def attempt_line(record: ProgramRecord, database: ProgramDatabase) -> str:
    """`key from parent [status score (delta)]: summary -> outcome`, one line."""
    parent = _parent(record, database)
    where = f" from {parent.key}" if parent else ""
    message = record.message
    if record.score is not None:
        delta = f", {record.score - parent.score:+.4f}" if parent and parent.score is not None else ""
        state = f"{record.status} {record.score:.4f}{delta}"
        outcome = message.findings.split("\n")[0] if message.findings else "scored"
    elif record.status == "rejected":
        state, outcome = "rejected", f"critic: {message.verdict.split(chr(10))[0]}"
    else:
        state = "failed"
        outcome = message.findings.split("\n")[0] if message.findings else message.feedback
    return (f"- {record.key}{where} [{state}]: {shorten(record.summary, 100)} -> "
            f"{shorten(outcome, 160)}")


def history(database: ProgramDatabase, size: int) -> str:
    attempts = [r for r in database.recent(size + 1) if r.status != "baseline"][-size:] if size else []
    if not attempts:
        return "none yet"
    return "\n".join(attempt_line(record, database) for record in attempts)


def notes(items: tuple[ResearchNote, ...], size: int) -> str:
    chosen = items[-size:] if size else ()
    if not chosen:
        return "none yet"
    return "\n".join(f"- {note.key}: {shorten(note.text, 400)}" for note in chosen)


def inspirations(items: tuple[Inspiration, ...]) -> str:
    """Each inspiration's figures, per-workload scores, feedback and code."""
    if not items:
        return "none"
    return "\n\n".join(
        f"## {item.record.key}: {shorten(item.record.summary, 100)}\nFigures: {figures(item.record)}\n"
        f"Workloads: {workloads(item.record.message.per_workload)}\nFeedback: {feedback(item.record)}\n"
        f"```python\n{item.source.rstrip()}\n```" for item in items)


def feedback(record: ProgramRecord) -> str:
    return clip(record.message.feedback) if record.message.feedback else "none"


def findings(record: ProgramRecord) -> str:
    return clip(record.message.findings) if record.message.findings else "none"


def rules(problem: Problem | None) -> str:
    """The critic's static rules for this problem, from the lists it checks against."""
    imports = problem.spec.critic.forbidden_imports if problem else DEFAULT_FORBIDDEN_IMPORTS
    return render("coder", "rules", imports=_names(imports), calls=_names(FORBIDDEN_CALLS),
                  names=_names(FORBIDDEN_NAMES))


def _names(names: Iterable[str]) -> str:
    return ", ".join(f"`{name}`" for name in sorted(names)) or "none"


def region_diff(old_source: str, new_source: str) -> str:
    """Unified diff of the evolvable regions (the whole programs if a region is broken)."""
    try:
        old, new = split_program(old_source).region, split_program(new_source).region
    except RegionError:
        old, new = old_source, new_source
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), "parent", "candidate",
                                 lineterm="", n=2)
    return "\n".join(line.rstrip() for line in lines) or "(no change)"


def _parent(record: ProgramRecord, database: ProgramDatabase) -> ProgramRecord | None:
    if record.parent_id is None:
        return None
    try:
        return database.get(record.parent_id)
    except KeyError:
        return None
