"""A planted API key reaches the model server's Authorization header and nowhere else: not the
commits, notes, recordings, checkpoints, logs, printed output, prompts, or the candidate's
environment (the evaluator below writes that environment into every commit)."""

from __future__ import annotations

import logging
import subprocess

from typer.testing import CliRunner

from adrs.cli import app
from adrs.workspace.repository import RunRepository
from tests.agents.model.loopback import LoopbackServer
from tests.agents.model.toy_server import ToyResponder

KEY = "sk-planted-3f9c1d7e5b2a4680-do-not-leak"
ENV_DUMP = """
import os as _os
_evaluate = evaluate


def evaluate(program_path, workloads=None):
    result = _evaluate(program_path, workloads)
    result.setdefault("artifacts", {})["environment"] = " ".join(
        f"{name}={value}" for name, value in sorted(_os.environ.items()))
    return result
"""


def everything_in(run_dir) -> bytes:
    """Every file of the run, and every git object decompressed (commits, trees, blobs, notes)."""
    files = b"".join(path.read_bytes() for path in sorted(run_dir.rglob("*")) if path.is_file())
    objects = subprocess.run(["git", "-C", str(run_dir), "cat-file", "--batch-all-objects",
                              "--batch"], capture_output=True, check=True).stdout
    return files + objects


def test_a_planted_key_never_leaves_the_client(toy_dir, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with open(toy_dir / "evaluator.py", "a", encoding="utf-8") as evaluator:
        evaluator.write(ENV_DUMP)
    caplog.set_level(logging.DEBUG)  # every logger, the OpenAI client's and httpx's included
    run_dir = tmp_path / "run"
    with LoopbackServer(ToyResponder()) as server:
        result = CliRunner().invoke(app, [
            "run", str(toy_dir), "--model", "toy-model", "--base-url", server.url,
            "--iterations", "2", "--run-dir", str(run_dir)])
        received = list(server.received)
    assert result.exit_code == 0, result.output
    # The key was really in use: the server saw it, in the header only.
    assert {r.headers["authorization"] for r in received} == {f"Bearer {KEY}"}
    assert not any(KEY in str(r.body) for r in received)
    # The candidate's environment reached the commits, and the key is not in it.
    repo = RunRepository.open(run_dir)
    feedback = repo.record("i0001-s0").message.feedback
    assert "environment: " in feedback and "PATH=" in feedback
    assert (run_dir / ".adrs" / "recordings").is_dir() and repo.notes()
    searched = everything_in(run_dir)
    assert b"environment: " in searched  # the search reads the commits' text
    assert KEY.encode() not in searched
    assert KEY not in result.output and KEY not in caplog.text
    assert "sk-planted" not in (run_dir / ".adrs" / "settings.json").read_text()
