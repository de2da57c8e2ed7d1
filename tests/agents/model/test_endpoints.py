"""Requests in flight per endpoint: local servers get one at a time unless told otherwise."""

from __future__ import annotations

import threading
import time

import pytest

from adrs.agents.model.endpoints import EndpointSlots, default_limit, effective_base_url, is_local


@pytest.mark.parametrize("url, local", [
    ("http://localhost:11434/v1", True), ("http://127.0.0.1:8080/v1", True),
    ("http://[::1]:8000/v1", True), ("http://192.168.1.20:8000/v1", True),
    ("http://gpu-box.local:8000/v1", True), ("https://api.openai.com/v1", False),
    ("https://example.com/v1", False),
])
def test_local_servers_are_told_from_remote_ones(url, local):
    assert is_local(url) is local
    assert default_limit(url) == (1 if local else 8)


def test_the_base_url_comes_from_the_settings_then_the_environment(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    assert effective_base_url(None) == "https://api.openai.com/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    assert effective_base_url(None) == "http://127.0.0.1:9/v1"
    assert effective_base_url("http://10.0.0.2/v1") == "http://10.0.0.2/v1"


@pytest.mark.parametrize("limit, most", [(None, 1), (2, 2)])
def test_requests_beyond_the_limit_wait_their_turn(limit, most):
    slots = EndpointSlots(limit)
    inside, peak, lock = [0], [0], threading.Lock()

    def request() -> None:
        with slots.slot("http://127.0.0.1:8080/v1"):
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.05)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == most
