"""The evaluation tool end to end: real evaluators in the real sandbox, small and fast."""

from __future__ import annotations

import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from adrs.tools.evaluation import NOTES_KEY, EvaluationResult, EvaluationStatus, EvaluationTool, parse_value
from adrs.tools.problem import Problem
from adrs.tools.sandbox import SandboxLimits

INITIAL = """\
# EVOLVE-BLOCK-START
VALUE = 0.25
# EVOLVE-BLOCK-END
"""

# Reads VALUE from the candidate by running it in-process: fine for a test fixture, though real
# evaluators run the candidate in a child process.
SCORING = """
import runpy

def value_of(program_path):
    return runpy.run_path(program_path)["VALUE"]
"""


def make_problem(root: Path, evaluator: str, *, timeout: float = 2, memory: int = 1024,
                 extra_files: dict[str, str] | None = None) -> Problem:
    folder = root / "problem"
    folder.mkdir()
    (folder / "README.md").write_text("A test problem.\n")
    (folder / "initial.py").write_text(INITIAL)
    (folder / "evaluator.py").write_text(textwrap.dedent(evaluator))
    (folder / "problem.toml").write_text(
        f'name = "toy"\n[limits]\ntimeout_seconds = {timeout}\nmemory_mb = {memory}\n')
    for name, text in (extra_files or {}).items():
        (folder / name).write_text(textwrap.dedent(text))
    return Problem.load(folder)


def tool_for(tmp_path: Path, evaluator: str, *, workers: int = 1, **kwargs) -> EvaluationTool:
    return EvaluationTool(make_problem(tmp_path, SCORING + textwrap.dedent(evaluator), **kwargs),
                          scratch_root=tmp_path / "scratch", workers=workers)


def program(value: object) -> str:
    return INITIAL.replace("0.25", repr(value))


def test_ok_result_is_parsed(tmp_path):
    tool = tool_for(tmp_path, """
        import numpy as np

        def evaluate(program_path):
            v = value_of(program_path)
            return {
                "combined_score": np.float64(v * 2),
                "mean_cost": np.int64(7),
                "valid": True,
                "per_workload": {"w1": v, "w2": "oops"},
                "artifacts": {"worst": "w1", "count": 3},
                "timings": {"sim": 0.5},
            }
    """)
    result = tool.evaluate(program(0.2))
    assert result.status is EvaluationStatus.OK
    assert result.ok
    assert result.combined_score == 0.4
    assert result.metrics == {"mean_cost": 7.0, "valid": 1.0}
    assert result.per_workload == {"w1": 0.2}
    assert result.timings == {"sim": 0.5}
    assert result.artifacts["worst"] == "w1"
    assert result.artifacts["count"] == "3"  # what is not text becomes text
    assert result.artifacts[NOTES_KEY] == "per_workload['w2'] dropped: 'oops' is not a finite number"
    assert result.error is None
    assert result.duration_seconds > 0
    assert result.summary_line() == "ok score=0.4000"


def test_nan_score_is_invalid(tmp_path):
    tool = tool_for(tmp_path, """
        def evaluate(program_path):
            return {"combined_score": float("nan"), "mean_cost": 1.0}
    """)
    result = tool.evaluate(program(0.1))
    assert result.status is EvaluationStatus.INVALID
    assert result.combined_score == 0.0
    assert result.error == "combined_score is not a finite number: 'nan'"
    assert result.metrics == {"mean_cost": 1.0}


def test_infinite_metric_is_kept_as_text(tmp_path):
    tool = tool_for(tmp_path, """
        def evaluate(program_path):
            return {"combined_score": 0.5, "mean_cost": float("-inf")}
    """)
    result = tool.evaluate(program(0.1))
    assert result.ok and result.metrics == {}
    assert result.artifacts["mean_cost"] == "-inf"
    assert result.artifacts[NOTES_KEY] == "mean_cost is not a finite number; kept as text"


def test_missing_combined_score_is_the_mean_of_the_metrics(tmp_path):
    tool = tool_for(tmp_path, """
        def evaluate(program_path):
            return {"score": 0.5, "speed": 1.5, "valid": True}
    """)
    result = tool.evaluate(program(0.1))
    assert result.ok and result.combined_score == 1.0  # flags are not averaged
    assert "mean of its numeric metrics (score, speed)" in result.score_note
    (tmp_path / "x").mkdir()
    empty = tool_for(tmp_path / "x", """
        def evaluate(program_path):
            return {"note": "nothing to count"}
    """).evaluate(program(0.1))
    assert empty.summary_line() == "invalid: evaluate returned no combined_score and no numeric metric"


def test_result_that_is_not_a_dict_is_invalid(tmp_path):
    tool = tool_for(tmp_path, """
        def evaluate(program_path):
            return [1, 2, 3]
    """)
    result = tool.evaluate(program(0.1))
    assert result.status is EvaluationStatus.INVALID
    assert result.error == "evaluate returned a list, not a dict"


def test_evaluator_error_key_is_invalid_but_keeps_feedback(tmp_path):
    tool = tool_for(tmp_path, """
        def evaluate(program_path):
            return {"combined_score": 0.0, "error": "order is not a permutation",
                    "checked": 3, "artifacts": {"first_bad": "txn 4 twice"}}
    """)
    result = tool.evaluate(program(0.1))
    assert result.status is EvaluationStatus.INVALID
    assert result.error == "order is not a permutation"
    assert result.combined_score == 0.0
    assert result.metrics == {"checked": 3.0}
    assert result.artifacts == {"first_bad": "txn 4 twice"}


def test_evaluator_raising_at_import_is_a_crash(tmp_path):
    tool = tool_for(tmp_path, """
        raise RuntimeError("simulator table missing")

        def evaluate(program_path):
            return {"combined_score": 1.0}
    """)
    result = tool.evaluate(program(0.1))
    assert result.status is EvaluationStatus.CRASH
    assert result.error == "evaluator.py raised at import: RuntimeError: simulator table missing"
    assert "RuntimeError: simulator table missing" in result.artifacts["traceback"]


def test_evaluate_raising_is_a_crash(tmp_path):
    tool = tool_for(tmp_path, """
        def evaluate(program_path):
            return {"combined_score": value_of(program_path) / 0}
    """)
    result = tool.evaluate(program(0.1))
    assert result.status is EvaluationStatus.CRASH
    assert result.error == "evaluate raised: ZeroDivisionError: float division by zero"
    assert result.summary_line() == "crash: evaluate raised: ZeroDivisionError: float division by zero"


def test_system_exit_from_a_candidate_is_caught(tmp_path):
    tool = tool_for(tmp_path, """
        def evaluate(program_path):
            return {"combined_score": value_of(program_path)}
    """)
    result = tool.evaluate("import sys\nsys.exit(3)\n")
    assert result.status is EvaluationStatus.CRASH
    assert result.error == "evaluate raised: SystemExit: 3"


def test_segfault_is_a_crash_with_the_signal(tmp_path):
    tool = tool_for(tmp_path, """
        def evaluate(program_path):
            return {"combined_score": value_of(program_path)}
    """)
    result = tool.evaluate("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    assert result.status is EvaluationStatus.CRASH
    assert result.error == "killed by SIGSEGV (segmentation fault)"


def test_hard_exit_without_result_reports_stderr(tmp_path):
    tool = tool_for(tmp_path, """
        import os, sys

        def evaluate(program_path):
            sys.stderr.write("simulator: queue overflow at t=17\\n")
            sys.stderr.flush()
            os._exit(4)
    """)
    result = tool.evaluate(program(0.1))
    assert result.status is EvaluationStatus.CRASH
    assert result.error == "simulator: queue overflow at t=17"


def test_infinite_loop_times_out(tmp_path):
    tool = tool_for(tmp_path, """
        def evaluate(program_path):
            while True:
                pass
    """, timeout=1)
    result = tool.evaluate(program(0.1))
    assert result.status is EvaluationStatus.TIMEOUT
    assert result.error == "timed out after 1 s"
    assert result.summary_line() == "timeout after 1 s"
    assert result.combined_score == 0.0


def test_heldout_dispatch(tmp_path):
    tool = tool_for(tmp_path, """
        def evaluate(program_path):
            return {"combined_score": 0.1}

        def evaluate_heldout(program_path):
            return {"combined_score": 0.9 + value_of(program_path)}
    """)
    assert tool.evaluate(program(0.05)).combined_score == 0.1
    assert tool.evaluate(program(0.05), split="heldout").combined_score == pytest.approx(0.95)


def test_missing_heldout_is_reported(tmp_path):
    tool = tool_for(tmp_path, """
        def evaluate(program_path):
            return {"combined_score": 0.1}
    """)
    result = tool.evaluate(program(0.1), split="heldout")
    assert result.status is EvaluationStatus.INVALID
    assert result.error == "problem has no evaluate_heldout"


def test_workloads_keyword_passes_through(tmp_path):
    tool = tool_for(tmp_path, """
        ALL = {"w1": 0.1, "w2": 0.2, "w3": 0.3}

        def evaluate(program_path, workloads=None):
            names = list(ALL) if workloads is None else workloads
            scores = {name: ALL[name] for name in names}
            return {"combined_score": sum(scores.values()) / len(scores), "per_workload": scores}
    """)
    subset = tool.evaluate(program(0.1), workloads=["w2", "w3"])
    assert subset.per_workload == {"w2": 0.2, "w3": 0.3}
    assert subset.combined_score == pytest.approx(0.25)
    assert tool.evaluate(program(0.1)).per_workload == {"w1": 0.1, "w2": 0.2, "w3": 0.3}
    with pytest.raises(ValueError, match="cannot be used with 'heldout'"):
        tool.evaluate(program(0.1), split="heldout", workloads=["w1"])


def test_sibling_import_scratch_and_no_bytecode(tmp_path):
    tool = tool_for(tmp_path, """
        import os
        from helper import bonus

        def evaluate(program_path):
            return {"combined_score": value_of(program_path) + bonus(),
                    "artifacts": {"cwd": os.getcwd(), "program": program_path}}
    """, extra_files={"helper.py": "def bonus():\n    return 1.0\n"})
    result = tool.evaluate(program(0.5))
    assert result.combined_score == 1.5
    scratch = Path(result.artifacts["cwd"])
    assert result.artifacts["program"] == str(scratch / "program.py")
    assert scratch.parent == (tmp_path / "scratch").resolve()
    # The warm worker emptied its scratch folder back to the mirror of the problem folder: links
    # to the problem's files (tools/workdir.py), and nothing of the evaluation.
    left = list(scratch.iterdir())
    assert left and all(path.is_symlink() for path in left)
    assert not (scratch / "program.py").exists()
    # The evaluator ran from a private copy: neither it nor its folder names the problem's.
    assert str(tmp_path / "problem") not in result.artifacts["program"]
    tool.close()
    assert not scratch.exists()
    assert not (tmp_path / "problem" / "__pycache__").exists()


def test_concurrent_evaluations_from_two_threads(tmp_path):
    tool = tool_for(tmp_path, """
        import time

        def evaluate(program_path):
            time.sleep(0.3)  # overlap the two runs
            return {"combined_score": value_of(program_path)}
    """, workers=2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(tool.evaluate, program(0.11))
        second = pool.submit(tool.evaluate, program(0.22))
        results = [first.result(), second.result()]
    assert [r.status for r in results] == [EvaluationStatus.OK, EvaluationStatus.OK]
    assert [r.combined_score for r in results] == [0.11, 0.22]
    folders = list((tmp_path / "scratch").iterdir())
    assert len(folders) == 2  # two workers, each back to the problem's mirror alone
    assert all(not (f / "program.py").exists() for f in folders)
    tool.close()
    assert list((tmp_path / "scratch").iterdir()) == []


def test_default_limits_come_from_problem_toml(tmp_path):
    problem = make_problem(tmp_path, "def evaluate(p):\n    return {}\n", timeout=7, memory=700)
    assert EvaluationTool(problem).limits == SandboxLimits(timeout_seconds=7, memory_mb=700)
    custom = SandboxLimits(timeout_seconds=1, memory_mb=300)
    assert EvaluationTool(problem, limits=custom).limits is custom


def test_parse_value_drops_wrong_container_types():
    result = parse_value({"combined_score": 2, "per_workload": [1, 2], "timings": "fast",
                          "artifacts": None}, function="evaluate", duration=0.1)
    assert result.status is EvaluationStatus.OK
    assert result.combined_score == 2.0
    assert result.per_workload == {} and result.timings == {}
    assert result.artifacts == {NOTES_KEY: "per_workload dropped: a list, not a dict; "
                                           "timings dropped: a string, not a dict"}


def test_score_is_zero_unless_ok():
    with pytest.raises(ValueError, match="0.0 unless status is ok"):
        EvaluationResult(status=EvaluationStatus.INVALID, combined_score=0.5)


def test_worker_makes_values_json_safe():
    import json

    import numpy as np

    from adrs.tools._worker import to_json_safe

    value = {"a": np.float32(0.5), "b": np.array([1.0, np.nan, -np.inf]), 3: (np.int8(2), True),
             "c": float("inf"), "d": {1, 2} - {1, 2}, "e": object}
    safe = to_json_safe(value)
    assert safe == {"a": 0.5, "b": [1.0, "nan", "-inf"], "3": [2, True], "c": "inf", "d": [],
                    "e": "<class 'object'>"}
    json.dumps(safe, allow_nan=False)  # must not raise


def test_keyboard_interrupt_and_array_metric(tmp_path):
    tool = tool_for(tmp_path, """
        import numpy as np

        def evaluate(program_path):
            if value_of(program_path) < 0:
                raise KeyboardInterrupt
            return {"combined_score": 0.5, "latencies": np.array([1.0, 2.0])}
    """)
    interrupted = tool.evaluate(program(-1))
    assert interrupted.status is EvaluationStatus.CRASH
    assert interrupted.error == "evaluate raised: KeyboardInterrupt"
    array_metric = tool.evaluate(program(1))
    assert array_metric.ok and array_metric.artifacts["latencies"] == "[1.0, 2.0]"
