"""Cascade evaluation, as OpenEvolve and the ADRS case studies define it.

An evaluator may define `evaluate_stage1`, `evaluate_stage2` and `evaluate_stage3`: a cheap
screen first, the costly runs only for programs that pass it. Stage k+1 runs when stage k scored
at least the k-th threshold (`cascade_thresholds`; no threshold: it runs). The stages' metrics and
artifacts are merged, later stages winning, and an artifact says how far the cascade went. Some
peers' `evaluate` only raises "use cascade evaluation", so the stages are used whenever they exist,
unless the problem turns the cascade off.

Standard library only: the sandboxed worker loads this file by path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType

STAGES = ("evaluate_stage1", "evaluate_stage2", "evaluate_stage3")
REPORT_KEY = "cascade"


def wanted(module: ModuleType, function: str, kwargs: Mapping, enabled: bool | None) -> bool:
    """Whether a call of `function` runs as a cascade: only plain `evaluate` calls do."""
    if function != "evaluate" or kwargs or enabled is False:
        return False
    return callable(getattr(module, STAGES[0], None))


def run(module: ModuleType, program_path: str, thresholds: list[float], *,
        flatten: Callable[[object], object],
        score_of: Callable[[Mapping], float | None]) -> object:
    """Run the stages in turn; the merged flat result, or the first stage's value if it is not one."""
    merged: dict = {}
    artifacts: dict = {}
    ran: list[str] = []
    stop = ""
    for index, name in enumerate(STAGES):
        stage = getattr(module, name, None)
        if not callable(stage):
            break
        flat = flatten(stage(program_path))
        if not isinstance(flat, dict):
            if not ran:
                return flat  # the caller reports what the first stage returned
            stop = f"{name} returned {type(flat).__name__}, not a result"
            break
        ran.append(name)
        stage_artifacts = flat.pop("artifacts", None)
        if isinstance(stage_artifacts, Mapping):
            artifacts.update(stage_artifacts)
        merged.update(flat)
        if flat.get("error") not in (None, "", False) and not _is_number(flat.get("error")):
            stop = f"{name} reported an error"
            break
        following = STAGES[index + 1] if index + 1 < len(STAGES) else None
        if index < len(thresholds) and following and callable(getattr(module, following, None)):
            score = score_of(flat)
            if score is None or score < thresholds[index]:
                shown = "no score" if score is None else f"{score:.6g}"
                stop = f"stopped after {name}: {shown} < threshold {thresholds[index]:g}"
                break
    summary = f"ran {', '.join(ran)}" + (f"; {stop}" if stop else "")
    merged["artifacts"] = {**artifacts, REPORT_KEY: summary}
    return merged


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
