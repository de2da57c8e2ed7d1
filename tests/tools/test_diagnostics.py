"""`adrs doctor` (tools/diagnostics.py through graph/doctor.py): what this machine gives adrs."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adrs.cli import app
from adrs.tools.diagnostics import imported_modules

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "problems"


def doctor(*args) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["doctor", *map(str, args)], env={"COLUMNS": "400"})
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def line_of(lines: list[str], name: str) -> str:
    return next(line for line in lines if line.split()[1:2] == [name.split()[0]]
                and name in line)


@pytest.fixture
def models_server():
    """GET /models on loopback, as an OpenAI-compatible server answers it."""
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps({"object": "list", "data": [{"id": "loop-model"}]}).encode()
            self.send_response(200 if self.path == "/v1/models" else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_doctor_reports_each_check_in_one_line(toy_dir, models_server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, lines = doctor(toy_dir, "--base-url", models_server)
    assert code == 0, lines
    isolation = line_of(lines, "isolation")
    assert isolation.startswith("ok") and "writes its scratch yes, beside it no, reaches " \
        "loopback no" in isolation
    assert line_of(lines, "git").startswith("ok") and "git version" in line_of(lines, "git")
    assert "cgroup" in "".join(lines) and not line_of(lines, "cgroup").startswith("FAIL")
    assert line_of(lines, "python").startswith("ok")
    assert line_of(lines, "problem toy").startswith("ok")
    assert line_of(lines, "model endpoint").endswith(f"{models_server} answers (1 models: loop-model)")


def test_without_isolation_a_missing_package_or_a_silent_endpoint_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("ADRS_SANDBOX", "none")
    problem = tmp_path / "needy"
    shutil.copytree(FIXTURES / "toy", problem)
    evaluator = problem / "evaluator.py"
    evaluator.write_text("import adrs_no_such_package\n" + evaluator.read_text())
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]  # nothing listens there once the block ends
    code, lines = doctor(problem, "--base-url", f"http://127.0.0.1:{port}/v1")
    assert code == 1
    assert line_of(lines, "isolation").startswith("FAIL") and \
        "fix: unset ADRS_SANDBOX" in line_of(lines, "isolation")
    needy = line_of(lines, "problem toy")
    assert needy.startswith("FAIL") and "fix: pip install adrs_no_such_package" in needy
    assert line_of(lines, "model endpoint").startswith("FAIL") and "does not answer" in \
        line_of(lines, "model endpoint")


def test_a_base_url_that_is_not_a_url_fails_its_check():
    code, lines = doctor(FIXTURES / "toy", "--base-url", "notaurl")
    assert code == 1
    assert line_of(lines, "model endpoint").startswith("FAIL") and "does not answer (unknown url " \
        "type" in line_of(lines, "model endpoint")


def test_the_problem_imports_are_read_not_run(tmp_path):
    (tmp_path / "helper.py").write_text("import numpy.linalg\n")
    (tmp_path / "evaluator.py").write_text("import json, helper\nfrom scipy import stats\n"
                                           "from . import sibling\nraise SystemExit('never run')\n")
    assert imported_modules(tmp_path) == ["numpy", "scipy"]


def test_an_unknown_problem_is_one_line():
    code, lines = doctor("no-such-problem")
    assert code == 2 and lines[-1].startswith("error: unknown problem 'no-such-problem'")
