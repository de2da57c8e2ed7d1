"""With no isolation at all: a model run refuses to start; the offline brain still runs; the
--unsafe-no-isolation flag is recorded; and the damage an unjailed hostile candidate does to the
run's repository is reported as damage."""

from __future__ import annotations

import json
import subprocess

import pytest
from typer.testing import CliRunner

from adrs.cli import app
from adrs.graph.settings import RunSettings
from adrs.workspace.repository import RunRepository
from tests.adversarial.hostile_model import HostileResponder
from tests.agents.model.loopback import LoopbackServer
from tests.agents.model.toy_server import ToyResponder

runner = CliRunner()


def adrs(*args) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})
    return result.exit_code, result.output


def lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


@pytest.fixture
def unjailed(monkeypatch):
    """Every mechanism off, as on a machine without bubblewrap, user namespaces or Landlock."""
    monkeypatch.setenv("ADRS_SANDBOX", "none")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-refusal-test")
    for name in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)


def trailers(run_dir) -> set[str]:
    return {dict(r.message.trailers()).get("Isolation", "") for r in RunRepository.open(run_dir).records()}


def test_a_model_run_refuses_to_start_without_isolation(unjailed, toy_dir, tmp_path):
    with LoopbackServer(ToyResponder()) as server:
        code, out = adrs("run", toy_dir, "--model", "m", "--base-url", server.url,
                         "--iterations", 1, "--run-dir", tmp_path / "run")
        asked = len(server.received)
    assert code == 2 and asked == 0  # stopped before the first model call
    assert lines(out) == [
        "error: no isolation for code written by a model (forced by ADRS_SANDBOX=none); fix: "
        "unset ADRS_SANDBOX, or pass --unsafe-no-isolation to run it with resource limits only"]
    assert not (tmp_path / "run").exists()


def test_the_offline_brain_still_runs_without_isolation(unjailed, toy_dir, tmp_path):
    code, out = adrs("run", toy_dir, "--iterations", 1, "--run-dir", tmp_path / "run")
    assert code == 0, out
    assert "(isolation: none: resource limits only)" in out
    assert trailers(tmp_path / "run") == {"none"}


def test_the_unsafe_flag_is_recorded_in_the_settings_and_every_commit(unjailed, toy_dir, tmp_path):
    with LoopbackServer(ToyResponder()) as server:
        code, out = adrs("run", toy_dir, "--model", "m", "--base-url", server.url,
                         "--iterations", 1, "--unsafe-no-isolation", "--run-dir", tmp_path / "run")
    assert code == 0, out
    assert RunSettings.load(tmp_path / "run" / ".adrs" / "settings.json").unsafe_no_isolation
    assert trailers(tmp_path / "run") == {"none (--unsafe-no-isolation)"}
    # Resuming keeps the flag: a resumed run needs no new permission.
    code, out = adrs("resume", tmp_path / "run")
    assert code == 0, out


def test_a_repository_damaged_by_an_unjailed_candidate_is_reported_as_damage(
        unjailed, toy_dir, tmp_path):
    run_dir = tmp_path / "run"
    hostile = HostileResponder(head=run_dir / ".git" / "HEAD", port=9, secret="-", token="adrs-x")
    with LoopbackServer(hostile) as server:
        code, out = adrs("run", toy_dir, "--model", "m", "--base-url", server.url,
                         "--iterations", 2, "--unsafe-no-isolation", "--run-dir", run_dir)
    assert code == 2, out
    error = " ".join(out[out.index("error: "):].split())  # one line, however the console wraps
    assert error.startswith(f"error: the run's git repository at {run_dir} is damaged "
                            "(.git/HEAD names no commit: b'garbage\\n')"), error
    assert "unknown revision" not in out
    code, out = adrs("resume", run_dir)  # and so is the next command on it
    assert code == 2 and "is damaged" in " ".join(out.split()), out


def test_an_unknown_executor_is_one_line(toy_dir, tmp_path):
    code, out = adrs("run", toy_dir, "--executor", "cloud", "--run-dir", tmp_path / "run")
    assert code == 2 and lines(out)[-1].startswith("error: invalid executor: "), out
    code, out = adrs("run", toy_dir, "--ray-address", "ray://x:1", "--run-dir", tmp_path / "run")
    assert code == 2 and "--ray-address needs --executor ray" in lines(out)[-1], out
    assert not (tmp_path / "run").exists()


def test_the_settings_file_of_an_unsafe_run_says_so(unjailed, toy_dir, tmp_path):
    code, out = adrs("run", toy_dir, "--iterations", 1, "--unsafe-no-isolation",
                     "--run-dir", tmp_path / "run")
    assert code == 0, out
    saved = json.loads((tmp_path / "run" / ".adrs" / "settings.json").read_text())
    assert saved["unsafe_no_isolation"] is True and saved["executor"] == "local"
    fsck = subprocess.run(["git", "-C", str(tmp_path / "run"), "fsck", "--strict"],
                          capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr
