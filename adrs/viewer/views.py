"""The viewer's JSON: pure functions from program records and run state to plain dicts.

The lineage tree is laid out here, like `git log --graph` turned sideways: x is the iteration,
each branch keeps one row (a first child continues its parent's row, later children open new
rows), and islands stack as bands of rows, so a migrant's edge crosses from one band to another.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from adrs.graph.review import PendingReview
from adrs.report.series import best_by_island
from adrs.report.summary import RunSummary
from adrs.workspace.repository import ProgramRecord
from adrs.workspace.steering import SteeringNote

_PYTHON = PythonLexer()
_FORMAT = HtmlFormatter(nowrap=True)
CODE_CSS = HtmlFormatter().get_style_defs(".code")


def layout(records: Sequence[ProgramRecord]) -> dict[str, tuple[int, int]]:
    """(x, row) of every program: x is its iteration, rows as the module docstring says."""
    by_id = {r.id: r for r in records}
    children: dict[str, list[ProgramRecord]] = {}
    for record in records:
        if record.parent_id in by_id:
            children.setdefault(record.parent_id, []).append(record)
    place: dict[str, tuple[int, int]] = {}
    next_row = 0
    for island in sorted({r.island for r in records}):
        roots = [r for r in records if r.island == island and
                 (r.parent_id not in by_id or by_id[r.parent_id].island != island)]
        stack: list[tuple[ProgramRecord, int | None]] = [(root, None) for root in reversed(roots)]
        while stack:  # depth first; a first child stays on its parent's row
            record, row = stack.pop()
            if row is None:
                row, next_row = next_row, next_row + 1
            place[record.id] = (record.iteration, row)
            kids = [c for c in children.get(record.id, []) if c.island == island]
            stack.extend(reversed([(kid, row if i == 0 else None) for i, kid in enumerate(kids)]))
    return place


def candidates(records: Sequence[ProgramRecord], best_id: str) -> list[dict[str, Any]]:
    place = layout(records)
    keys = {r.id: r.key for r in records}
    return [{"key": r.key, "id": r.id, "parent": keys.get(r.parent_id or ""), "status": r.status,
             "score": r.score, "island": r.island, "iteration": r.iteration, "slot": r.slot,
             "summary": r.summary, "best": r.id == best_id, "reviewed": r.message.review is not None,
             "x": place[r.id][0], "row": place[r.id][1]} for r in records]


def progress(records: Sequence[ProgramRecord]) -> dict[str, list[list[float]]]:
    """Best score so far per island, by iteration (JSON keys are strings): the points where it
    rises and the last one, all the page's step line needs (not one per iteration)."""
    return {str(island): [[x, y] for i, (x, y) in enumerate(line)
                          if i in (0, len(line) - 1) or y != line[i - 1][1]]
            for island, line in best_by_island(records).items()}


def _against(values: Mapping[str, float], parent: Mapping[str, float]) -> list[dict[str, Any]]:
    return [{"name": name, "value": values.get(name), "parent": parent.get(name),
             "change": (values[name] - parent[name]) if name in values and name in parent else None}
            for name in sorted(set(values) | set(parent))]


def detail(record: ProgramRecord, parent: ProgramRecord | None, note: str | None,
           diff: str, children: Sequence[ProgramRecord]) -> dict[str, Any]:
    """Everything the viewer shows about one candidate."""
    message = record.message
    parent_message = parent.message if parent else None
    metrics = {"combined_score": record.score} if record.score is not None else {}
    parent_metrics = ({"combined_score": parent.score}
                      if parent and parent.score is not None else {})
    return {
        "key": record.key, "id": record.id, "status": record.status, "score": record.score,
        "island": record.island, "iteration": record.iteration, "slot": record.slot,
        "summary": message.summary, "hypothesis": message.hypothesis, "verdict": message.verdict,
        "findings": message.findings, "feedback": message.feedback, "note": note or "",
        "operator": message.operator, "model": message.model,
        "parent": parent.key if parent else None, "children": [c.key for c in children],
        "review": message.review.model_dump() if message.review else None,
        "review_line": message.review.describe() if message.review else "",
        "metrics": _against({**metrics, **message.metrics},
                            {**parent_metrics, **(parent_message.metrics if parent_message else {})}),
        "workloads": _against(message.per_workload,
                              parent_message.per_workload if parent_message else {}),
        "diff_html": diff_html(diff),
    }


def diff_html(diff: str) -> str:
    """A unified diff as HTML: each line's code highlighted as Python, marked added, removed,
    context or header. Everything is escaped (by pygments or html.escape)."""
    rows = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---", "@@", "\\")):
            rows.append(f'<span class="d-head">{html.escape(line)}</span>')
            continue
        kind = {"+": "d-add", "-": "d-del"}.get(line[:1], "d-ctx")
        code = highlight(line[1:], _PYTHON, _FORMAT).rstrip("\n")
        rows.append(f'<span class="{kind}"><span class="d-mark">{html.escape(line[:1] or " ")}'
                    f"</span>{code}</span>")
    return "\n".join(rows)


def run_info(summary: RunSummary, settings: Mapping[str, Any], state: Mapping[str, Any],
             pending: Sequence[PendingReview], steering: Sequence[SteeringNote],
             version: str) -> dict[str, Any]:
    return {
        "summary": summary.model_dump(), "settings": dict(settings), "version": version,
        "state": {key: state.get(key) for key in ("iteration", "evaluations", "best_score",
                                                  "stop_reason", "faults")},
        "pending": [item.model_dump() for item in pending],
        "steering": [{"text": n.text, "author": n.author, "after_iteration": n.after_iteration,
                      "time": n.time} for n in steering],
    }
