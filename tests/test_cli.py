"""The command line: the commands work, and bad input gets one clear line and changes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from adrs.cli import app
from adrs.workspace.repository import RunRepository
from tests.conftest import start_run

runner = CliRunner()


def adrs(*args: str):
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def one_line_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines[-1].startswith("error: "), output
    return lines[-1]


def test_run_log_show_best(toy_dir, tmp_path):
    run_dir = tmp_path / "run"
    code, out = adrs("run", toy_dir, "--iterations", 2, "--width", 2, "--run-dir", run_dir)
    assert code == 0, out
    assert "iteration 2/2" in out and "baseline vs best" in out and "heldout" in out
    code, out = adrs("log", run_dir)
    assert code == 0 and "i0002-s1" in out and "baseline" in out
    code, out = adrs("show", run_dir, "1")
    assert code == 0 and "Hypothesis" in out and "combined_score" in out and "+++ b/program.py" in out
    code, out = adrs("best", run_dir)
    assert code == 0 and "def choose" in out
    code, out = adrs("resume", run_dir)
    assert code == 0 and "has finished; nothing to resume (stopped: completed 2 iterations)" in out


def test_problems_lists_the_six_case_studies_one_line_each():
    code, out = adrs("problems")
    names = [line.split()[0] for line in out.splitlines()]
    assert code == 0 and names == ["cloudcast", "eplb", "llm_sql", "spot_multiregion",
                                   "spot_scheduling", "txn_scheduling"]


@pytest.mark.parametrize("args, message", [
    (["run", "no_such_problem"], "unknown problem 'no_such_problem'"),
    (["run", "{toy}", "--iterations", "0"], "invalid iterations"),
    (["run", "{toy}", "--parallel", "0"], "invalid width (--parallel)"),
    (["run", "{toy}", "--team", "lean"], "model options given but no model"),  # not ignored
    (["run", "{toy}", "--no-record"], "model options given but no model"),
    (["log", "{tmp}"], "not an adrs run"),
    (["resume", "{tmp}/missing"], "no run at"),
])
def test_bad_input_gets_one_clear_line(args, message, toy_dir, tmp_path):
    args = [a.format(toy=toy_dir, tmp=tmp_path) for a in args]
    code, out = adrs(*args, "--run-dir", tmp_path / "run") if args[0] == "run" else adrs(*args)
    assert code == 2
    assert message in one_line_error(out)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("port", ["-1", "65536"])
def test_serve_on_a_port_out_of_range_is_one_line(port, tmp_path):
    code, out = adrs("serve", tmp_path, "--port", port)
    assert code == 2 and "Invalid value for '--port'" in one_line_error(out)


def test_a_report_into_a_file_is_one_line(toy_dir, tmp_path):
    start_run(toy_dir, tmp_path / "run", iterations=1)
    (tmp_path / "notes").write_text("keep me")
    code, out = adrs("report", tmp_path / "run", "--out", tmp_path / "notes")
    assert code == 2 and one_line_error(out) == f"error: cannot write the report to " \
        f"{tmp_path / 'notes'}: File exists"
    assert (tmp_path / "notes").read_text() == "keep me"


def test_a_base_url_error_names_the_value_once(toy_dir, tmp_path):
    code, out = adrs("run", toy_dir, "--model", "m", "--base-url", "ftp://x", "--run-dir", tmp_path / "run")
    assert code == 2 and one_line_error(out).count("'ftp://x'") == 1


def test_a_problem_folder_missing_a_file(toy_dir, tmp_path):
    (toy_dir / "evaluator.py").unlink()
    code, out = adrs("run", toy_dir, "--run-dir", tmp_path / "run")
    assert code == 2 and "is missing evaluator.py" in one_line_error(out)


def test_an_evaluator_that_raises_at_import(toy_dir, tmp_path):
    (toy_dir / "evaluator.py").write_text("raise RuntimeError('no simulator here')\n")
    code, out = adrs("run", toy_dir, "--run-dir", tmp_path / "run")
    line = one_line_error(out)
    assert code == 2 and "raised at import" in line and "no simulator here" in line
    assert not (tmp_path / "run").exists()


def test_a_killed_run_resumes_to_the_full_budget(toy_dir, tmp_path):
    """SIGKILL the real process mid-run; `adrs resume` finishes with nothing lost or doubled."""
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "adrs", "run", str(toy_dir), "--iterations", "6",
               "--width", "2", "--run-dir", str(run_dir)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    for line in process.stdout:
        if "iteration 2/6" in line:
            break
    time.sleep(0.3)  # land somewhere inside iteration 3
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    code, out = adrs("resume", run_dir)
    assert code == 0, out
    repo = RunRepository.open(run_dir)
    keys = [r.key for r in repo.records()]
    assert len(keys) == len(set(keys)) == 1 + 6 * 2
    assert "error" not in repo.fsck().lower()
