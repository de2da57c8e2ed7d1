"""Parsing Python source safely from several threads.

CPython 3.11 before 3.11.9 keeps the AST validator's recursion depth in interpreter-wide state,
so two threads parsing at once can fail with "SystemError: AST constructor recursion depth
mismatch" (python/cpython#106905). The pipeline runs roles on a thread pool, so every parse in
the agents goes through this one lock; a parse takes well under a millisecond.
"""

from __future__ import annotations

import ast
import threading

_LOCK = threading.Lock()


def parse(source: str) -> ast.Module:
    """ast.parse, one thread at a time; raises SyntaxError as ast.parse does."""
    with _LOCK:
        return ast.parse(source)
