"""Viewer fixtures: small real runs, and the viewer app over them through Starlette's test client."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from adrs.viewer.access import Access
from adrs.viewer.app import create_app
from adrs.viewer.server import ViewerServer
from adrs.viewer.source import RunSource
from tests.viewer.runs import model_run, offline_run

BASE = "http://127.0.0.1:8765"


@pytest.fixture(scope="package")
def finished_run(tmp_path_factory) -> Path:
    """Three iterations of two candidates, offline, with one steering note."""
    return offline_run(tmp_path_factory.mktemp("viewer"))


@pytest.fixture(scope="package")
def spending_run(tmp_path_factory) -> Path:
    """Two iterations of the model brain (scripted): spend per role and research notes."""
    return model_run(tmp_path_factory.mktemp("viewer-model"))[0]


@contextmanager
def viewer(run_dir: Path, access: Access | None = None, compare: tuple[Path, ...] = (),
           base_url: str = BASE) -> Iterator[TestClient]:
    sources = [RunSource(path) for path in (run_dir, *compare)]
    try:
        with TestClient(create_app(sources[0], access or Access(), sources[1:]),
                        base_url=base_url) as client:
            yield client
    finally:
        for source in sources:
            source.close()


@contextmanager
def serving(run_dir: Path, access: Access | None = None) -> Iterator[ViewerServer]:
    """The viewer on a real loopback socket (uvicorn in a thread), stopped on the way out."""
    source = RunSource(run_dir)
    server = ViewerServer(create_app(source, access or Access()), "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        yield server
    finally:
        server.stop()
        thread.join(timeout=10)
        source.close()
