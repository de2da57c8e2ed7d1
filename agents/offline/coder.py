"""The offline coder: applies a plan's literal edits to the parent's evolvable region."""

from __future__ import annotations

import ast
from fractions import Fraction

from adrs.agents.evolve_block import RegionError, split_program
from adrs.agents.roles import CodeRequest, CodeResult
from adrs.agents.schemas import LiteralEdit


class OfflineCoder:
    model_name = "offline"

    def write(self, request: CodeRequest) -> CodeResult:
        edits = request.plan.literal_edits
        if not edits:
            return CodeResult(None, error="the offline coder applies literal edits only; "
                                          "this plan describes a free-form change")
        if request.revision:
            # Sent back (e.g. a duplicate): go further in the same direction.
            edits = tuple(_further(edit, request.revision) for edit in edits)
        try:
            parts = split_program(request.parent_source)
        except RegionError as exc:
            return CodeResult(None, error=f"parent program: {exc}")
        literals = parts.literals()
        for edit in edits:
            if edit.index >= len(literals) or literals[edit.index].text != edit.old:
                return CodeResult(None, error=f"literal #{edit.index} is not {edit.old!r} "
                                              "in the parent")
        note = "; ".join(f"{e.label or '#' + str(e.index)}: {e.old} -> {e.new}" for e in edits)
        return CodeResult(parts.with_literals({edit.index: edit.new for edit in edits}), note=note)


def _further(edit: LiteralEdit, revision: int) -> LiteralEdit:
    """old -> new becomes old -> new + revision * (new - old), same type as written."""
    old, new = (Fraction(ast.literal_eval(text)) for text in (edit.old, edit.new))
    target = new + revision * (new - old)
    if "." in edit.new or "e" in edit.new.lower():
        text = f"{float(target):.4g}"
        text = text if any(ch in text for ch in ".en") else text + ".0"
    else:  # a count stays a count; a constant that may be negative keeps its sign
        text = str(max(0, round(target)) if min(old, new) >= 0 else round(target))
    return edit.model_copy(update={"new": text})
