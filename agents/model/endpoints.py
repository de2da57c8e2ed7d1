"""Requests in flight per endpoint.

A local server often has one slot (llama.cpp's `--parallel 1`, Ollama's default for a big
model) and queues the rest; a request waiting there burns its timeout before it starts. So adrs
queues requests itself, per base URL, and sends one only when a slot is free: the client's
timeout then counts from when a request is sent, never from when it was queued.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

LOCAL_DEFAULT = 1  # what a one-slot server can take without queueing
REMOTE_DEFAULT = 8
OPENAI = "https://api.openai.com/v1"


def effective_base_url(base_url: str | None) -> str:
    """Where requests go: the configured URL, else the client's environment, else OpenAI."""
    return (base_url or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE")
            or OPENAI).rstrip("/")


def is_local(url: str) -> bool:
    """A server on this machine or a private network (where one slot is common)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def default_limit(url: str) -> int:
    return LOCAL_DEFAULT if is_local(url) else REMOTE_DEFAULT


class EndpointSlots:
    """At most `limit` requests in flight to each base URL; the others wait their turn here."""

    def __init__(self, limit: int | None = None) -> None:
        self._limit = limit
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def limit(self, url: str) -> int:
        return self._limit or default_limit(url)

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        with self._lock:
            semaphore = self._slots.setdefault(url, threading.BoundedSemaphore(self.limit(url)))
        with semaphore:
            yield
