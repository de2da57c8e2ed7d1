"""Every bad problem, whatever its layout, gets one clear `error:` line and creates nothing."""

from __future__ import annotations

import textwrap

import pytest

from tests.peers.helpers import adrs, error_line, fixture

EVALUATOR = "def evaluate(path):\n    return {'combined_score': 1.0}\n"
PROGRAM = "# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\n"

# name -> (files of a peer folder, what the error line says)
BAD = {
    "no_evaluator": ({"initial_program.py": PROGRAM},
                     "no evaluator: peer has neither problem.toml nor evaluator.py"),
    "no_program": ({"evaluator.py": EVALUATOR}, "peer has evaluator.py but no initial_program.<ext>"),
    "two_programs": ({"evaluator.py": EVALUATOR, "initial_program.py": PROGRAM,
                      "initial_program.rs": "fn main() {}\n"},
                     "several initial programs (initial_program.py, initial_program.rs)"),
    "raises_at_import": ({"evaluator.py": "raise ValueError('no traces folder')\n" + EVALUATOR,
                          "initial_program.py": PROGRAM},
                         "does not evaluate: crash: evaluator.py raised at import: ValueError: "
                         "no traces folder"),
    "config_wrong_type": ({"evaluator.py": EVALUATOR, "initial_program.py": PROGRAM,
                           "config.yaml": "evaluator:\n  timeout: [30]\n"},
                          "config.yaml: evaluator.timeout: Input should be a valid number"),
    "requirement_not_installable": ({"evaluator.py": EVALUATOR, "initial_program.py": PROGRAM,
                                     "requirements.txt": "adrs-no-such-package-for-tests==0.0.1\n"},
                                    "cannot install the requirements of peer "
                                    "(requirements.txt): ERROR: No matching distribution found "
                                    "for adrs-no-such-package-for-tests==0.0.1"),
    "secret_passed_through": ({"evaluator.py": EVALUATOR, "initial_program.py": PROGRAM,
                               "problem.toml": 'evolve_file = "initial_program.py"\n'
                                               '[environment]\npass_through = ["OPENAI_API_KEY"]\n',
                               "README.md": "A peer.\n"},
                              "names OPENAI_API_KEY, which looks like a secret"),
    "nothing_to_tune": ({"evaluator.py": EVALUATOR, "initial_program.py":
                         "# EVOLVE-BLOCK-START\ndef f(x):\n    return x\n# EVOLVE-BLOCK-END\n"},
                        "the offline brain tunes numeric constants, and the evolvable region of "
                        "initial_program.py has none: run peer with a model (--model)"),
    "file_outside": ({"evaluator.py": EVALUATOR, "initial_program.py": PROGRAM, "README.md": "x",
                      "problem.toml": 'evolve_file = "../elsewhere.py"\n'},
                     "peer/problem.toml: evolve_file: ../elsewhere.py must be a path inside the "
                     "problem folder"),
    "markers_broken": ({"evaluator.py": EVALUATOR, "initial_program.c": "// EVOLVE-BLOCK-END\n"},
                       "initial_program.c: line 1: EVOLVE-BLOCK-END without an EVOLVE-BLOCK-START"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_peer_folder_is_one_line_and_no_run(name, tmp_path, monkeypatch):
    monkeypatch.setenv("ADRS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip looks only at local wheels: no network
    files, message = BAD[name]
    folder = tmp_path / "peer"
    folder.mkdir()
    for file_name, text in files.items():
        (folder / file_name).write_text(textwrap.dedent(text))
    code, out = adrs("run", folder, "--iterations", 1, "--run-dir", tmp_path / "runs" / "r")
    assert code == 2
    assert message in error_line(out), out
    assert not (tmp_path / "runs").exists()
    envs = tmp_path / "cache" / "envs"
    assert not envs.exists() or not any(envs.iterdir())  # no half-built environment left


@pytest.mark.parametrize("args, message", [
    (["missing.py", "{f}/evaluator.py"], "program file not found: missing.py"),
    (["{f}/initial_program.py", "nowhere.py"], "evaluator file not found: nowhere.py"),
    (["{f}/initial_program.py", "{f}/workloads/../evaluator.py", "-c", "{f}/workloads/x.yaml"],
     "config file not found"),
    (["{f}", "-c", "{f}/config.yaml"], "-c config.yaml goes with files"),
    (["{f}", "--data", "{f}/nowhere"], "invalid data_dir (--data): data folder"),
    (["{f}", "--data", "{f}/config.yaml"], "is a file, not a folder"),
    (["{f}/config.yaml"], "the evaluator {f}/config.yaml is not a Python file (.py)"),
])
def test_bad_files_and_options_are_one_line(args, message, tmp_path):
    folder = fixture("adrs_style", tmp_path)
    code, out = adrs("run", *[a.format(f=folder) for a in args], "--run-dir", tmp_path / "r")
    assert code == 2 and message.format(f=folder) in error_line(out), out
    assert not (tmp_path / "r").exists()


def test_files_in_unrelated_folders_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "p.py").write_text(PROGRAM)
    (tmp_path / "b" / "e.py").write_text(EVALUATOR)
    code, out = adrs("run", tmp_path / "a" / "p.py", tmp_path / "b" / "e.py",
                     "--run-dir", tmp_path / "r")
    assert code == 2 and "must sit in one folder, or one in a sub-folder" in error_line(out)


def test_no_initial_program_needs_a_model(tmp_path):
    (tmp_path / "e.py").write_text(EVALUATOR)
    code, out = adrs("run", tmp_path / "e.py", "--run-dir", tmp_path / "r")
    assert code == 2
    assert "has no initial program, and the offline brain only tunes one" in error_line(out)
