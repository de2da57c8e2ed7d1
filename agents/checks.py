"""The critic's static checks: cheap reasons to stop a candidate before it costs simulator time.

Shared by both brains; pure functions of text.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Literal

from adrs.agents.evolve_block import RegionError, fingerprint, split_program

# Names a candidate has no business touching: ways out of the sandbox or into the evaluator.
FORBIDDEN_CALLS = frozenset({"eval", "exec", "compile", "open", "__import__", "globals",
                             "breakpoint", "input", "getattr", "setattr", "delattr", "vars"})
FORBIDDEN_NAMES = frozenset({"evaluator", "evaluate", "evaluate_heldout", "heldout_seeds",
                             "train_seeds", "__builtins__", "__loader__", "__spec__"})


@dataclass(frozen=True)
class Finding:
    severity: Literal["reject", "revise"]
    reason: str


def static_review(parent_source: str, candidate_source: str, *,
                  known_fingerprints: frozenset[str],
                  forbidden_imports: tuple[str, ...]) -> list[Finding]:
    """Every problem found, most severe first; an empty list means the edit may be evaluated."""
    try:
        tree = ast.parse(candidate_source)
    except SyntaxError as exc:
        return [Finding("reject", f"does not parse: line {exc.lineno}: {exc.msg}")]
    try:
        parent, candidate = split_program(parent_source), split_program(candidate_source)
    except RegionError as exc:
        return [Finding("reject", f"evolvable region broken: {exc}")]
    findings: list[Finding] = []
    if candidate.head != parent.head or candidate.tail != parent.tail:
        findings.append(Finding("reject", "edits text outside the EVOLVE-BLOCK"))
    first = candidate.head.count("\n") + 1
    region_lines = range(first, first + candidate.region.count("\n"))
    findings += [Finding("reject", reason) for reason in
                 _forbidden_uses(tree, region_lines, set(forbidden_imports))]
    if candidate.region == parent.region:
        findings.append(Finding("revise", "changes nothing: the region equals the parent's"))
    elif fingerprint(candidate_source) in known_fingerprints:
        findings.append(Finding("revise", "duplicates a program already tried"))
    return sorted(findings, key=lambda finding: finding.severity != "reject")


def _forbidden_uses(tree: ast.AST, lines: range, forbidden_imports: set[str]) -> list[str]:
    """Forbidden imports and names used inside the region (the fixed text is the problem's own)."""
    reasons: list[str] = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) not in lines:
            continue
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            modules = []
        for module in modules:
            if module.split(".")[0] in forbidden_imports:
                reasons.append(f"imports forbidden module {module}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in FORBIDDEN_CALLS:
            reasons.append(f"calls {node.func.id}()")
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            reasons.append(f"refers to {node.id}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("__") \
                and node.attr not in {"__init__", "__name__"}:
            reasons.append(f"reaches into {node.attr}")
    return sorted(set(reasons))
