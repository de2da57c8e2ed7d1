"""The critic's static checks: cheap reasons to stop a candidate before it costs simulator time.

Shared by both brains; pure functions of text. They judge the change, not the program: a name the
parent's regions already use (a baseline's own `import os`, `getattr`, `__getitem__`) is the
problem's own, and only uses the candidate adds are held against it. Regions in other languages
than Python get the checks that do not need a Python parser.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from adrs.agents import syntax
from adrs.agents.evolve_block import RegionError, Split, fingerprint, split_program

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
        parent = split_program(parent_source)
    except RegionError as exc:
        return [Finding("reject", f"the parent's evolvable region is broken: {exc}")]
    candidate_tree = None
    if parent.python:
        try:
            candidate_tree = syntax.parse(candidate_source)
        except SyntaxError as exc:
            return [Finding("reject", f"does not parse: line {exc.lineno}: {exc.msg}")]
    try:
        candidate = split_program(candidate_source)
    except RegionError as exc:
        return [Finding("reject", f"evolvable region broken: {exc}")]
    findings: list[Finding] = []
    if len(candidate.regions) != len(parent.regions) or candidate.fixed != parent.fixed:
        findings.append(Finding("reject", "edits text outside the EVOLVE-BLOCK region(s)"))
    elif candidate_tree is not None:
        added = _region_uses(candidate_tree, candidate, set(forbidden_imports))
        added.subtract(_region_uses(syntax.parse(parent_source), parent, set(forbidden_imports)))
        findings += [Finding("reject", reason) for reason in sorted(added) if added[reason] > 0]
    if candidate.regions == parent.regions:
        findings.append(Finding("revise", "changes nothing: the region equals the parent's"))
    elif fingerprint(candidate_source) in known_fingerprints:
        findings.append(Finding("revise", "duplicates a program already tried"))
    return sorted(findings, key=lambda finding: finding.severity != "reject")


def _region_uses(tree: ast.AST, parts: Split, forbidden_imports: set[str]) -> Counter[str]:
    """How often each forbidden import or name is used inside the regions (the fixed text is the
    problem's own)."""
    lines = set().union(*parts.region_lines())
    reasons: Counter[str] = Counter()
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
                reasons[f"imports forbidden module {module}"] += 1
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in FORBIDDEN_CALLS:
            reasons[f"calls {node.func.id}()"] += 1
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            reasons[f"refers to {node.id}"] += 1
        if isinstance(node, ast.Attribute) and node.attr.startswith("__") \
                and node.attr not in {"__init__", "__name__"}:
            reasons[f"reaches into {node.attr}"] += 1
    return reasons
