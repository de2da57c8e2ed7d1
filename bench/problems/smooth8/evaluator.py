"""Scores choose() by its squared distance to a fixed target: 1 / (1 + d^2)."""

import importlib.util
import math

TARGET = (0.3, 2.5, 1.7, 0.8, 4.0, 0.5, 1.2, 3.0)


def evaluate(program_path, workloads=None):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    values = module.choose()
    if len(values) != len(TARGET) or not all(isinstance(v, float) and math.isfinite(v) for v in values):
        return {"combined_score": 0.0, "error": "choose() must return eight finite floats"}
    distance = sum((v - t) ** 2 for v, t in zip(values, TARGET))
    return {"combined_score": 1.0 / (1.0 + distance), "distance": distance,
            "per_workload": {"target": 1.0 / (1.0 + distance)}}


def evaluate_heldout(program_path):
    return evaluate(program_path)
