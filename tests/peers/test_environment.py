"""A problem's own environment: requirements installed once into a cached virtual environment
the evaluator runs in, declared variables, and the user's data folder (--data)."""

from __future__ import annotations

import base64
import hashlib
import textwrap
import zipfile
from pathlib import Path

from adrs.tools.evaluation import EvaluationTool
from adrs.tools.isolation import current
from adrs.tools.problem import Problem
from tests.peers.helpers import adrs, records

PROGRAM = "# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\n"


def wheel(folder: Path) -> Path:
    """A one-module wheel (adrs_fixture_dep, VALUE = 42), made here: pip installs it offline."""
    files = {"adrs_fixture_dep/__init__.py": "VALUE = 42\n",
             "adrs_fixture_dep-1.0.dist-info/METADATA":
                 "Metadata-Version: 2.1\nName: adrs-fixture-dep\nVersion: 1.0\n",
             "adrs_fixture_dep-1.0.dist-info/WHEEL":
                 "Wheel-Version: 1.0\nGenerator: adrs-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    record.append("adrs_fixture_dep-1.0.dist-info/RECORD,,")
    path = folder / "adrs_fixture_dep-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in {**files, "adrs_fixture_dep-1.0.dist-info/RECORD": "\n".join(record) + "\n"}.items():
            archive.writestr(name, text)
    return path


def problem(root: Path, evaluator: str, toml: str = "") -> Path:
    folder = root / "needs"
    folder.mkdir()
    (folder / "initial_program.py").write_text(PROGRAM)
    (folder / "evaluator.py").write_text(textwrap.dedent(evaluator))
    if toml:
        (folder / "problem.toml").write_text(textwrap.dedent(toml))
        (folder / "README.md").write_text("Needs things.\n")
    return folder


def test_requirements_are_installed_once_and_used_by_the_evaluator(tmp_path, monkeypatch):
    monkeypatch.setenv("ADRS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("ADRS_TEST_PASSED", "from the shell")
    folder = problem(tmp_path, """
        import os
        import adrs_fixture_dep
        def evaluate(path):
            return {"combined_score": adrs_fixture_dep.VALUE / 100,
                    "artifacts": {"mode": os.environ.get("SIM_MODE", ""),
                                  "passed": os.environ.get("ADRS_TEST_PASSED", "")}}
    """, toml="""
        evolve_file = "initial_program.py"
        [environment]
        variables = { SIM_MODE = "fast" }
        pass_through = ["ADRS_TEST_PASSED", "ADRS_TEST_UNSET"]
    """)
    (folder / "requirements.txt").write_text(f"{wheel(tmp_path)}\n")
    loaded = Problem.load(folder)
    result = EvaluationTool(loaded).evaluate(loaded.initial_source)
    assert result.ok and result.combined_score == 0.42
    assert result.artifacts == {"mode": "fast", "passed": "from the shell"}
    envs = list((tmp_path / "cache" / "envs").iterdir())
    assert len(envs) == 1
    made = envs[0].stat().st_mtime_ns
    EvaluationTool(loaded)  # the same requirements: the cached environment, not a new one
    assert [p.stat().st_mtime_ns for p in (tmp_path / "cache" / "envs").iterdir()] == [made]


def test_the_users_data_folder_is_read_only_in_the_jail(tmp_path):
    data = tmp_path / "traces"
    data.mkdir()
    (data / "zone-a.txt").write_text("3 1 4 1 5\n")
    folder = problem(tmp_path, """
        import os
        from pathlib import Path
        def evaluate(path):
            data = Path(os.environ["ADRS_DATA_DIR"])
            numbers = [int(x) for x in (data / "zone-a.txt").read_text().split()]
            try:
                (data / "planted.txt").write_text("x")
                wrote = 1.0
            except OSError:
                wrote = 0.0
            return {"combined_score": sum(numbers) / 100, "wrote": wrote}
    """)
    code, out = adrs("run", folder, "--iterations", 1, "--data", data, "--run-dir", tmp_path / "r")
    assert code == 0, out
    baseline = records(tmp_path / "r")[0].message
    assert baseline.score == 0.14
    assert f"data: {data}" in out.replace("\n", " ").replace("  ", " ")
    if current().jailed:
        assert baseline.metrics["wrote"] == 0.0 and not (data / "planted.txt").exists()
    settings = (tmp_path / "r" / ".adrs" / "settings.json").read_text()
    assert f'"data_dir": "{data}"' in settings  # resume reads the same data


def test_problem_toml_names_a_default_data_folder(tmp_path):
    folder = problem(tmp_path, """
        import os
        def evaluate(path):
            return {"combined_score": float(os.path.isdir(os.environ.get("ADRS_DATA_DIR", "")))}
    """, toml='evolve_file = "initial_program.py"\ndata = "sample"\n')
    (folder / "sample").mkdir()
    code, out = adrs("run", folder, "--iterations", 1, "--run-dir", tmp_path / "r")
    assert code == 0, out
    assert records(tmp_path / "r")[0].score == 1.0


def test_without_data_the_variable_is_unset(tmp_path):
    folder = problem(tmp_path, """
        import os
        def evaluate(path):
            return {"combined_score": float("ADRS_DATA_DIR" not in os.environ)}
    """)
    result = EvaluationTool(Problem.load(folder)).evaluate(PROGRAM)
    assert result.combined_score == 1.0
