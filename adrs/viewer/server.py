"""Run the viewer with uvicorn on a socket bound up front, so the address (and a port chosen by
the system for port 0) is known before the first request and a busy port is one clear line."""

from __future__ import annotations

import socket

import uvicorn
from starlette.applications import Starlette

from adrs.viewer.access import ViewerError


class ViewerServer:
    def __init__(self, app: Starlette, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host.strip("[]"), port))
        except OSError as exc:
            self.socket.close()
            raise ViewerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        self.host, self.port = host, self.socket.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(
            app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1))

    @property
    def url(self) -> str:
        host = f"[{self.host.strip('[]')}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def run(self) -> None:
        """Serve until stopped (Ctrl-C, or `stop()` from another thread)."""
        self._server.run(sockets=[self.socket])

    @property
    def started(self) -> bool:
        return self._server.started

    def stop(self) -> None:
        self._server.should_exit = True
