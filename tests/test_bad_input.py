"""Bad input everywhere gets one clear line and damages nothing.

Malformed problem folders, evaluators that raise or answer garbage, invalid flags, missing or
corrupted run directories and a second process on a run in use: each ends with exit code 2, an
`error: ...` line naming the cause, and no run directory created or changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adrs.cli import app
from adrs.graph.runner import create_run
from adrs.graph.settings import RunSettings
from adrs.tools.problem import Problem

TOY = Path(__file__).parent / "fixtures" / "problems" / "toy"
runner = CliRunner()


def adrs(*args: object) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "2000"},  # no wrapping
                           prog_name="adrs")
    crashed = isinstance(result.exception, Exception) and not isinstance(result.exception, SystemExit)
    assert not crashed, f"uncaught {result.exception!r}"
    return result.exit_code, result.output


def error_line(output: str) -> str:
    """The one error line, after at most one progress line."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: "), output
    assert len(lines) <= 2, output
    return lines[-1]


def fingerprint(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


# ------------------------------------------------------------------------- problem folders

def write(folder: Path, name: str, text: str | bytes) -> None:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text), encoding="utf-8")


EVALUATOR_HEAD = """
import importlib.util

def choose(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.choose()
"""

BROKEN_PROBLEMS = {
    "toml_syntax": ({"problem.toml": 'name = "toy\n'}, "problem.toml is not valid TOML"),
    "toml_wrong_type": ({"problem.toml": 'name = "toy"\n[limits]\ntimeout_seconds = "soon"\n'},
                        "problem.toml: limits.timeout_seconds"),
    "toml_negative_memory": ({"problem.toml": 'name = "toy"\n[limits]\nmemory_mb = -1\n'},
                             "problem.toml: limits.memory_mb"),
    "toml_unknown_limit": ({"problem.toml": 'name = "toy"\n[limits]\ncpus = 4\n'},
                           "limits.cpus: Extra inputs are not permitted"),
    "toml_not_utf8": ({"problem.toml": b'name = "\xff\xfe"\n'}, "problem.toml is not UTF-8 text"),
    "readme_not_utf8": ({"README.md": b"\x80\x81 broken"}, "README.md is not UTF-8 text"),
    "marker_not_closed": ({"initial.py": "# EVOLVE-BLOCK-START\nA = 1\n"},
                          "initial.py: line 1: EVOLVE-BLOCK-START is never closed"),
    "markers_nested": ({"initial.py": "# EVOLVE-BLOCK-START\nA = 1\n# EVOLVE-BLOCK-START\n"
                                      "B = 2\n# EVOLVE-BLOCK-END\n"},
                       "line 3: a second EVOLVE-BLOCK-START before the END of the one at line 1"),
    "markers_reversed": ({"initial.py": "# EVOLVE-BLOCK-END\nA = 1\n# EVOLVE-BLOCK-START\n"},
                         "line 1: EVOLVE-BLOCK-END without an EVOLVE-BLOCK-START before it"),
    "initial_does_not_parse": ({"initial.py": "# EVOLVE-BLOCK-START\ndef (:\n# EVOLVE-BLOCK-END\n"},
                               "initial.py does not parse"),
    "evaluator_does_not_parse": ({"evaluator.py": "def evaluate(path)\n"},
                                 "evaluator.py does not parse"),
    "evolve_file_missing": ({"problem.toml": 'name = "toy"\nevolve_file = "nowhere.py"\n'},
                            "evolve_file nowhere.py not found"),
    "evaluate_raises": ({"evaluator.py": "def evaluate(path):\n    raise KeyError('trace')\n"},
                        "evaluate raised: KeyError: 'trace'"),
    "evaluate_missing": ({"evaluator.py": "def score(path):\n    return {}\n"},
                         "problem has no evaluate"),
    "evaluate_returns_a_list": ({"evaluator.py": "def evaluate(path):\n    return [1.0]\n"},
                                "evaluate returned a list, not a dict"),
    "evaluate_returns_nan": ({"evaluator.py": "def evaluate(path):\n"
                                              "    return {'combined_score': float('nan')}\n"},
                             "combined_score is not a finite number: 'nan'"),
    "evaluate_returns_text_score": ({"evaluator.py": "def evaluate(path):\n"
                                                     "    return {'combined_score': 'high'}\n"},
                                    "combined_score is not a finite number: 'high'"),
    "evaluate_returns_no_figure": ({"evaluator.py": "def evaluate(path):\n"
                                                    "    return {'verdict': 'fine'}\n"},
                                   "evaluate returned no combined_score and no numeric metric"),
    "evaluate_flags_the_baseline": ({"evaluator.py": "def evaluate(path):\n    return "
                                                     "{'combined_score': 0.0, 'error': 'no trace'}\n"},
                                    "invalid: no trace"),
    "evaluator_exits_at_import": ({"evaluator.py": "import os\nos._exit(3)\n"},
                                  "evaluation exited with code 3 and wrote no result"),
    "evaluate_hangs": ({"problem.toml": 'name = "toy"\n[limits]\ntimeout_seconds = 1\n',
                        "evaluator.py": "def evaluate(path):\n    while True:\n        pass\n"},
                       "timeout after 1 s"),
}


@pytest.mark.parametrize("name", sorted(BROKEN_PROBLEMS))
def test_a_broken_problem_folder_gets_one_line_and_no_run(name, toy_dir, tmp_path):
    files, message = BROKEN_PROBLEMS[name]
    for file_name, text in files.items():
        write(toy_dir, file_name, text)
    run_dir = tmp_path / "run"
    code, out = adrs("run", toy_dir, "--iterations", 1, "--run-dir", run_dir)
    assert code == 2
    assert message in error_line(out)
    assert not run_dir.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no half-made run


def test_a_missing_problem_file(toy_dir, tmp_path):
    (toy_dir / "README.md").unlink()
    code, out = adrs("run", toy_dir, "--run-dir", tmp_path / "run")
    assert code == 2 and "is missing README.md" in error_line(out)


# ------------------------------------------------------------------------- flags

@pytest.mark.parametrize("flags, message", [
    (["--iterations", "-3"], "invalid iterations"),
    (["--width", "100"], "invalid width (--parallel): Input should be less than or equal to 32"),
    (["--max-minutes", "0"], "invalid max_minutes"),
    (["--max-evaluations", "0"], "invalid max_evaluations"),
])
def test_an_invalid_setting_gets_one_line(flags, message, tmp_path):
    code, out = adrs("run", TOY, *flags, "--run-dir", tmp_path / "run")
    assert code == 2 and message in error_line(out)
    assert not (tmp_path / "run").exists()


def test_an_unknown_sandbox_mode_gets_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("ADRS_SANDBOX", "paper-bag")
    code, out = adrs("run", TOY, "--run-dir", tmp_path / "run")
    assert code == 2 and "ADRS_SANDBOX='paper-bag' is not one of auto, bwrap, namespaces, landlock, none" in \
        error_line(out)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("flags, message", [
    (["--iterations", "many"], "error: Invalid value for '--iterations'"),
    (["--bogus"], "error: No such option: --bogus (see adrs run --help)"),
])
def test_a_malformed_flag_is_refused_by_the_parser(flags, message, tmp_path):
    code, out = adrs("run", TOY, *flags, "--run-dir", tmp_path / "run")
    assert code == 2 and error_line(out).startswith(message)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, message", [
    (["nosuch"], "error: No such command 'nosuch' (see adrs --help)"),
    (["--bogus"], "error: No such option: --bogus (see adrs --help)"),
    (["log"], "error: Missing argument"),
    (["log", ".", "--top", "x"], "error: Invalid value for '--top'"),
])
def test_a_mistyped_command_line_gets_one_line(args, message):
    code, out = adrs(*args)
    assert code == 2 and error_line(out).startswith(message)


# ------------------------------------------------------------------------- run directories

@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A small finished run of the toy problem, copied by each test that breaks it."""
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    code, out = adrs("run", TOY, "--iterations", 2, "--run-dir", run_dir)
    assert code == 0, out
    return run_dir


@pytest.fixture
def run_copy(finished_run, tmp_path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(finished_run, target, symlinks=True)
    return target


def truncate_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


CORRUPTIONS = {
    "settings_garbage": (lambda r: (r / ".adrs/settings.json").write_text("{not json"),
                         "cannot read run settings"),
    "settings_bad_value": (lambda r: (r / ".adrs/settings.json").write_text(json.dumps(
        {**json.loads((r / ".adrs/settings.json").read_text()), "iterations": -5})),
        "settings.json"),
    "settings_missing": (lambda r: (r / ".adrs/settings.json").unlink(),
                         "is not a complete adrs run (no .adrs/settings.json)"),
    "checkpoints_garbage": (lambda r: (r / ".adrs/checkpoints.sqlite").write_bytes(b"junk" * 512),
                            "checkpoints.sqlite is damaged (file is not a database)"),
    "checkpoints_truncated": (lambda r: truncate_half(r / ".adrs/checkpoints.sqlite"),
                              "checkpoints.sqlite is damaged"),
    "git_missing": (lambda r: shutil.rmtree(r / ".git"), "not an adrs run"),
    "problem_snapshot_missing": (lambda r: shutil.rmtree(r / ".adrs/problem"),
                                 "problem folder not found"),
}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_a_corrupted_run_directory_gets_one_line_and_is_left_alone(name, run_copy):
    corrupt, message = CORRUPTIONS[name]
    corrupt(run_copy)
    before = fingerprint(run_copy)
    code, out = adrs("resume", run_copy)
    assert code == 2 and message in error_line(out)
    assert fingerprint(run_copy) == before


@pytest.mark.parametrize("target, message", [
    ("missing", "no run at"),
    ("empty", "is not a complete adrs run"),
    ("a_file", "no run at"),
])
def test_resume_of_something_that_is_not_a_run(target, message, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "a_file").write_text("x")
    code, out = adrs("resume", tmp_path / target)
    assert code == 2 and message in error_line(out)


def test_a_file_in_place_of_the_run_directory(tmp_path):
    (tmp_path / "run").write_text("keep me")
    code, out = adrs("run", TOY, "--run-dir", tmp_path / "run")
    assert code == 2 and "is a file, not a directory" in error_line(out)
    assert (tmp_path / "run").read_text() == "keep me"


def test_browsing_commands_on_a_non_run(tmp_path):
    for command in ("log", "best", "show"):
        code, out = adrs(command, tmp_path)
        assert code == 2 and "not an adrs run" in error_line(out), command


def test_show_of_an_unknown_revision(run_copy):
    code, out = adrs("show", run_copy, "no-such-thing")
    assert code == 2 and error_line(out).startswith("error: ")


# ------------------------------------------------------------------------- a run in use

LOCK_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(120)
"""


def test_a_second_process_on_a_run_in_use_is_refused(run_copy):
    """Another process holds the run (as a live `adrs run` does): nothing may interleave."""
    before = fingerprint(run_copy)
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(run_copy / ".adrs/lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        code, out = adrs("resume", run_copy)
        assert code == 2 and "is in use by another adrs process" in error_line(out)
        code, out = adrs("run", TOY, "--run-dir", run_copy)
        assert code == 2 and "already exists and is not empty" in error_line(out)
        assert fingerprint(run_copy) == before
    finally:
        holder.kill()
        holder.wait()
    code, out = adrs("resume", run_copy)  # once the holder is gone the run opens again
    assert code == 0 and "has finished; nothing to resume (stopped: completed 2 iterations)" in out, out


def test_a_run_that_dies_while_being_created_leaves_no_half_run(toy_dir, tmp_path, monkeypatch):
    """The layout is renamed into place whole: a stale hidden folder at worst, never a broken run."""
    def die(self, path):  # stands for a kill after the commits, before the settings are written
        raise KeyboardInterrupt

    run_dir = tmp_path / "run"
    monkeypatch.setattr(RunSettings, "save", die)
    with pytest.raises(KeyboardInterrupt):
        create_run(Problem.load(toy_dir), RunSettings.build(problem="toy", iterations=1), run_dir)
    assert not run_dir.exists()
    left = [p.name for p in tmp_path.iterdir() if p.name != "toy"]
    assert left == [f".run.creating-{os.getpid()}"]
    monkeypatch.undo()
    code, out = adrs("run", toy_dir, "--iterations", 1, "--run-dir", run_dir)
    assert code == 0, out
