"""Helpers shared by the tests of the problem folders (problems/<name>/)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

PROBLEMS = Path(__file__).resolve().parents[2] / "problems"


def problem_folder(name: str) -> Path:
    """The folder of problem `name`, e.g. problems/cloudcast."""
    return PROBLEMS / name


def initial_source(name: str) -> str:
    """The text of problem `name`'s initial.py (the baseline program)."""
    return (problem_folder(name) / "initial.py").read_text(encoding="utf-8")


def load_module(path: Path, module_name: str) -> ModuleType:
    """Import the file at `path` as a fresh module called `module_name`."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def load_evaluator(name: str) -> ModuleType:
    """Import problems/<name>/evaluator.py as the module `<name>_evaluator`."""
    return load_module(problem_folder(name) / "evaluator.py", f"{name}_evaluator")


def write_candidate(tmp_path: Path, source: str, name: str = "candidate.py") -> str:
    """Write `source` to tmp_path/name and return the path as a string."""
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return str(path)


def with_constant(source: str, name: str, value: object) -> str:
    """`source` with the numeric value of its one top-level `NAME = <number>` line replaced."""
    out, count = re.subn(rf"^{re.escape(name)} = [0-9.]+", f"{name} = {value}", source,
                         flags=re.M)
    assert count == 1, name
    return out


def spot_policy(body: str, init: str = "") -> str:
    """A spot-scheduling candidate whose decide() is `body` and whose __init__ ends with `init`
    (both indented into the class), with the usual constants."""
    lines = "\n".join("        " + line for line in body.strip().splitlines())
    extra = "".join("        " + line + "\n" for line in init.strip().splitlines())
    return ("NONE, SPOT, ON_DEMAND = 0, 1, 2\n\n# EVOLVE-BLOCK-START\nclass Policy:\n"
            "    def __init__(self, job):\n        self.job = job\n        self.committed = False\n"
            f"{extra}\n    def decide(self, obs):\n{lines}\n# EVOLVE-BLOCK-END\n")


_PEEKER_HEAD = """
import gc

NONE, SPOT, ON_DEMAND = 0, 1, 2
SCANNED = set()


def _long_01(value):
    if isinstance(value, (bytes, bytearray, str)) and len(value) > 300:
        return set(value) <= {0, 1, 48, 49, "0", "1"}
    if isinstance(value, (list, tuple)) and len(value) > 300:
        return all(type(v) in (int, bool) and v in (0, 1) for v in value)
    return False


class Policy:
    def __init__(self, job):
        self.job = job

    def decide(self, obs):
"""

_PEEKER_SCAN = """\
        if obs.tick in (0, 200) and obs.tick not in SCANNED:
            SCANNED.add(obs.tick)
            try:
                raise ZeroDivisionError
            except ZeroDivisionError as exc:  # the driver's frames, as a hostile policy would
                frame, held = exc.__traceback__.tb_frame, list(gc.get_objects())
            while frame is not None:
                held += [*frame.f_locals.values(), *frame.f_globals.values()]
                frame = frame.f_back
            for holder in held:
                for value in [holder, *gc.get_referents(holder)]:
                    if _long_01(value):
                        raise RuntimeError(f"found the future: {type(value).__name__} {len(value)}")
"""


def spot_peeker(history_too_long: str, answer: str) -> str:
    """A spot-scheduling candidate that raises if the condition `history_too_long` (on `obs`)
    holds, and at ticks 0 and 200 scans every object the child process holds, and the driver's
    frames, for a 0/1 sequence longer than 300 (stdlib lookup tables reach 256), raising if it
    finds one; otherwise decide() returns `answer`."""
    return (_PEEKER_HEAD
            + f"        if {history_too_long}:\n"
            + '            raise RuntimeError("history longer than the ticks seen")\n'
            + _PEEKER_SCAN
            + f"        return {answer}\n")
