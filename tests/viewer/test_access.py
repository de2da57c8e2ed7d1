"""Who may reach the viewer and write through it; nothing outside the run's data is served."""

from __future__ import annotations

import http.client

import pytest
from typer.testing import CliRunner

from adrs.cli import app
from adrs.viewer.access import Access, ViewerError
from tests.viewer.conftest import serving, viewer

TOKEN = "a-token-of-enough-length"
SECRET = "this file lies outside the run"


@pytest.mark.parametrize(("host", "public", "token", "error"), [
    ("0.0.0.0", False, None, "needs --public and a --token"),
    ("0.0.0.0", True, None, "needs --public and a --token"),
    ("0.0.0.0", False, TOKEN, "needs --public and a --token"),
    ("192.168.1.5", True, "short", "at least 16 characters"),
])
def test_a_non_loopback_bind_needs_the_flag_and_a_token(host, public, token, error):
    with pytest.raises(ViewerError, match=error):
        Access(host=host, public=public, token=token)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_neither(host):
    assert Access(host=host).token is None


def test_the_command_refuses_a_public_bind_without_a_token(finished_run):
    result = CliRunner().invoke(app, ["serve", str(finished_run), "--host", "0.0.0.0", "--public"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == \
        "error: listening on 0.0.0.0 (not loopback) needs --public and a --token (or ADRS_VIEWER_TOKEN)"


def test_with_a_token_every_request_needs_it(finished_run):
    access = Access(host="0.0.0.0", public=True, token=TOKEN)
    with viewer(finished_run, access, base_url="http://203.0.113.9:8765") as client:
        for path in ("/", "/api/run", "/api/candidates", "/api/events", "/static/viewer.js"):
            assert client.get(path).status_code == 401
        assert client.get("/api/run", headers={"authorization": f"Bearer {TOKEN}x"}).status_code == 401
        assert client.get("/api/run", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
        first = client.get(f"/?token={TOKEN}", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/"
        assert "httponly" in first.headers["set-cookie"].lower()
        assert client.get("/api/candidates").status_code == 200  # the cookie now carries it


def test_a_read_only_viewer_refuses_writes(finished_run):
    with viewer(finished_run) as client:
        for path in ("/api/steer", "/api/reviews/" + "ab" * 16):
            refused = client.post(path, json={"text": "x", "author": "Eve", "reviewer": "Eve"})
            assert refused.status_code == 403 and "read-only" in refused.json()["error"]


def test_writes_need_json_and_the_write_key(finished_run):
    access = Access(writable=True)
    with viewer(finished_run, access) as client:
        form = client.post("/api/steer", data={"text": "x", "author": "Eve"},
                           headers={"x-adrs-write": access.write_key})
        assert form.status_code == 415
        forged = client.post("/api/steer", json={"text": "x", "author": "Eve"})
        assert forged.status_code == 403 and forged.json() == {"error": "missing or wrong write key"}
        unknown = client.post("/api/reviews/" + "ab" * 16, json={"reviewer": "Eve"},
                              headers={"x-adrs-write": access.write_key})
        assert unknown.status_code == 409 and "no plan is waiting" in unknown.json()["error"]


def test_a_foreign_host_header_is_refused(finished_run):
    """A page on another site that rebinds its name to 127.0.0.1 still sends its own Host."""
    with viewer(finished_run, base_url="http://attacker.example:8765") as client:
        assert client.get("/api/run").status_code == 400


TRAVERSALS = [
    "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd", "/static/..%2f..%2fsecret.txt",
    "/static/viewer.js/../../secret.txt", "/api/candidates/..%2f..%2fsecret.txt",
    "/api/candidates/../../secret.txt", "/api/candidates/%2e%2e", "/api/candidates/.git%2fconfig",
    "/api/candidates/i0001-s0/../../../secret.txt", "/api/reviews/..%2f..%2fsecret",
    "/.git/config", "/.adrs/settings.json", "/program.py", "/secret.txt", "/api/events/../../secret.txt",
    "//etc/passwd", "/api/compare/..%2f..",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_endpoint_serves_anything_outside_the_run_data(finished_run, path):
    (finished_run.parent / "secret.txt").write_text(SECRET)
    with viewer(finished_run, Access(writable=True)) as client:
        for method in ("GET", "POST"):
            response = client.request(method, path, json={"reviewer": "Eve"})
            assert response.status_code in (400, 403, 404, 405, 409), (method, path)
            assert SECRET not in response.text and "root:" not in response.text
            assert "[core]" not in response.text and '"problem"' not in response.text


def test_raw_traversal_paths_on_a_real_socket(finished_run):
    """The same, sent byte for byte (no client normalises the path) to the real server."""
    (finished_run.parent / "secret.txt").write_text(SECRET)
    with serving(finished_run) as server:
        for path in TRAVERSALS:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read().decode("utf-8", "replace")
            connection.close()
            assert response.status in (400, 404), path
            assert SECRET not in body and "root:" not in body and "[core]" not in body
