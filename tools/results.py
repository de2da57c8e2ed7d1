"""What an evaluator returned, as figures and text: the peers' result conventions mapped to adrs's.

Accepted: a dict (adrs, SkyDiscover, the ADRS case studies) or any object with `metrics` and
`artifacts` (OpenEvolve's EvaluationResult). Numeric metrics stay figures; lists, strings and other
values become text artifacts; an `error` that is a number is a metric, a non-empty text marks the
program invalid. Without `combined_score` the score is the mean of the numeric metrics, as
OpenEvolve and SkyDiscover do, and the result says so. Metrics a problem names as timing metrics
(wall time) move to `timings`, which are reported but never committed.

Standard library only: the sandboxed worker loads this file by path (no adrs package there).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

RESERVED = frozenset({"combined_score", "per_workload", "artifacts", "timings", "error"})


def flatten(value: object) -> object:
    """A dict as it is; an object with a `metrics` mapping (or a dict whose figures sit under
    "metrics") as the one dict it stands for, artifacts under "artifacts"; anything else
    unchanged, for the caller to refuse."""
    if isinstance(value, Mapping):
        inner = value.get("metrics")
        if isinstance(inner, Mapping) and "combined_score" not in value:
            return {**inner, **{key: item for key, item in value.items() if key != "metrics"}}
        return dict(value)
    metrics = getattr(value, "metrics", None)
    if not isinstance(metrics, Mapping):
        return value
    flat = dict(metrics)
    artifacts = getattr(value, "artifacts", None)
    if isinstance(artifacts, Mapping) and artifacts:
        flat["artifacts"] = {**_as_dict(flat.get("artifacts")),
                             **{key: _text_of_bytes(item) for key, item in artifacts.items()}}
    error = getattr(value, "error", None)
    if error and "error" not in flat:
        flat["error"] = error
    return flat


def score_of(flat: Mapping) -> float | None:
    """The score a result stands for: its combined_score, else the mean of its numeric metrics."""
    if "combined_score" in flat:
        return _number(flat["combined_score"], allow_bool=False)
    numbers = _numeric_metrics(flat)
    return sum(numbers.values()) / len(numbers) if numbers else None


def normalize(flat: Mapping, *, function: str = "evaluate",
              timing_metrics: tuple[str, ...] = ()) -> dict:
    """The canonical result: combined_score (None when there is none to take), score_note,
    metrics, per_workload, timings, artifacts (all text), error and notes on what was dropped."""
    notes: list[str] = []
    metrics: dict[str, float] = {}
    per_workload = _numeric_map(flat.get("per_workload"), "per_workload", notes)
    artifacts = _artifacts(flat.get("artifacts"), notes)
    timings = _numeric_map(flat.get("timings"), "timings", notes)
    for key, item in flat.items():
        key = str(key)
        if key in RESERVED and not (key == "error" and _is_number(item)):
            continue
        number = _number(item)
        if number is not None:
            (timings if key in timing_metrics else metrics)[key] = number
        elif _is_number(item) or item in ("nan", "inf", "-inf"):
            notes.append(f"{key} is not a finite number; kept as text")
            artifacts[key] = str(item)
        else:
            artifacts.setdefault(key, _as_text(item))
    score, score_note, error = None, None, _error_text(flat.get("error"))
    if "combined_score" in flat:
        score = _number(flat["combined_score"], allow_bool=False)
        if score is None and error is None:
            error = f"combined_score is not a finite number: {_short(flat['combined_score'])}"
    elif averaged := {key: metrics[key] for key in _numeric_metrics(flat) if key in metrics}:
        score = sum(averaged.values()) / len(averaged)
        score_note = (f"{function} returns no combined_score: the score is the mean of its "
                      f"numeric metrics ({', '.join(sorted(averaged))}), as OpenEvolve and "
                      "SkyDiscover do")
    elif error is None:
        error = f"{function} returned no combined_score and no numeric metric"
    return {"combined_score": score, "score_note": score_note, "metrics": metrics,
            "per_workload": per_workload,
            "timings": timings, "artifacts": artifacts, "error": error, "notes": notes}


def _numeric_metrics(flat: Mapping) -> dict[str, float]:
    """The metrics a missing combined_score is the mean of: numbers, not flags or errors."""
    numbers = {str(key): _number(item, allow_bool=False) for key, item in flat.items()
               if key not in RESERVED}
    return {key: value for key, value in numbers.items() if value is not None}


def _number(item: object, *, allow_bool: bool = True) -> float | None:
    """A finite float, or None. Non-finite numbers arrive from the worker as "nan"/"inf" text."""
    if isinstance(item, bool):
        return float(item) if allow_bool else None
    if isinstance(item, (int, float)) and math.isfinite(item):
        return float(item)
    return None


def _is_number(item: object) -> bool:
    return isinstance(item, (int, float)) and not isinstance(item, bool)


def _error_text(raw: object) -> str | None:
    """Text of a failure flag; numbers (a metric named error) and empty values are no failure."""
    if raw is None or raw is False or raw == "" or _is_number(raw):
        return None
    return str(raw)


def _numeric_map(raw: object, label: str, notes: list[str]) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        notes.append(f"{label} dropped: {type_name(raw)}, not a dict")
        return {}
    kept: dict[str, float] = {}
    for key, item in raw.items():
        number = _number(item, allow_bool=False)
        if number is None:
            notes.append(f"{label}[{key!r}] dropped: {_short(item)} is not a finite number")
        else:
            kept[str(key)] = number
    return kept


def _artifacts(raw: object, notes: list[str]) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        notes.append(f"artifacts dropped: {type_name(raw)}, not a dict")
        return {}
    return {str(key): _as_text(item) for key, item in raw.items()}


def _as_dict(raw: object) -> dict:
    return dict(raw) if isinstance(raw, Mapping) else {}


def _text_of_bytes(item: object) -> object:
    return item.decode("utf-8", errors="replace") if isinstance(item, bytes) else item


def _as_text(item: object) -> str:
    if isinstance(item, str):
        return item
    try:
        return json.dumps(item, sort_keys=True)
    except (TypeError, ValueError):
        return str(item)


def type_name(value: object) -> str:
    """The kind of a JSON value in words, for error messages (the evaluation tool's too)."""
    return {dict: "an object", list: "a list", str: "a string", type(None): "None",
            bool: "a bool", int: "an int", float: "a float"}.get(type(value), type(value).__name__)


def _short(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
