"""`adrs doctor`: what this machine gives adrs (the checks live in adrs.tools.diagnostics)."""

from __future__ import annotations

import os

from adrs.graph.catalogue import catalogue, load_problem
from adrs.tools.diagnostics import (
    Check,
    cgroup_check,
    endpoint_check,
    isolation_check,
    packages_check,
    python_check,
    version_check,
)

__all__ = ["Check", "checks"]


def checks(problem: str | None = None, base_url: str | None = None) -> list[Check]:
    """Isolation (with a probe), the cgroup subtree, git, Python, the packages of one problem (or
    of every problem adrs knows) and, when one is configured, the model endpoint."""
    found = [isolation_check(), cgroup_check(), version_check("git", ["git", "--version"]),
             python_check()]
    if problem is not None:
        spec = load_problem(problem)
        found.append(packages_check(spec.name, spec.root))
    else:
        for entry in catalogue():
            if entry.error is None:
                found.append(packages_check(entry.name, load_problem(entry.name).root))
    url = base_url or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE")
    if url is None and os.environ.get("OPENAI_API_KEY"):
        url = "https://api.openai.com/v1"  # what the model brain would use
    found.append(endpoint_check(url, os.environ.get("OPENAI_API_KEY")))
    return found
