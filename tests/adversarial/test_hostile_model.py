"""A hostile program arrives as a model's answer, through a loopback OpenAI-compatible server, in a
real `adrs run` under each isolation mechanism: the run completes, the candidate is recorded as
failed or contained, and nothing it tried got out (tests/adversarial/hostile_model.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adrs.cli import app
from adrs.tools.isolation import detect
from adrs.workspace.repository import RunRepository
from tests.adversarial.hostile_model import HostileResponder
from tests.adversarial.test_corpus import MECHANISMS, pending_connection, wait_for_no_survivors
from tests.agents.model.loopback import LoopbackServer

SECRET = "sk-adrs-hostile-model-3b9e"
TOKEN = "adrs-hostile-model-token-51aa"


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_a_hostile_answer_from_the_model_is_contained(mechanism, toy_dir, tmp_path, monkeypatch):
    if not detect(mechanism).jailed:
        pytest.skip(f"{mechanism} does not work here: {detect(mechanism).reason}")
    monkeypatch.setenv("ADRS_SANDBOX", mechanism)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    run_dir = tmp_path / "run"
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    # Stands for the shell that started `adrs run` with the key in its environment.
    keeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                              env={"PATH": os.environ.get("PATH", ""), "OPENAI_API_KEY": SECRET})
    hostile = HostileResponder(head=run_dir / ".git" / "HEAD", port=listener.getsockname()[1],
                               secret=SECRET, token=TOKEN)
    try:
        with LoopbackServer(hostile) as server:
            result = CliRunner().invoke(app, ["run", str(toy_dir), "--model", "m", "--base-url",
                                              server.url, "--iterations", "2", "--width", "2",
                                              "--run-dir", str(run_dir)], env={"COLUMNS": "200"})
    finally:
        keeper.kill()
        keeper.wait()
    assert result.exit_code == 0, result.output
    records = RunRepository.open(run_dir).records()
    candidates = [r for r in records if r.status != "baseline"]
    assert len(candidates) == 4 and all(r.status in ("evaluated", "failed") for r in candidates)
    for record in records:
        text = record.message.to_text()
        assert "ESCAPED" not in text and SECRET not in text, text
        assert dict(record.message.trailers())["Isolation"] == mechanism
    assert (run_dir / ".git" / "HEAD").read_text().startswith("ref: ")
    fsck = subprocess.run(["git", "-C", str(run_dir), "fsck", "--full", "--strict"],
                          capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr
    assert wait_for_no_survivors([TOKEN]) == []
    assert not pending_connection(listener)
    listener.close()
    for path in Path(run_dir, ".adrs").rglob("*"):  # recordings: what the model was told
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
