"""Load a problem folder's own modules (evaluator.py, initial.py) by path, for the bench scripts.

The folders are data, not packages (they import nothing from adrs), so the scripts import them the
way the evaluator's sandbox does: by file path, under a name of their own.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"


def load(problem: str, filename: str) -> ModuleType:
    """problems/<problem>/<filename> as a fresh module."""
    path = PROBLEMS / problem / filename
    name = f"bench_{problem}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module
