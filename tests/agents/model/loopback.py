"""A small OpenAI-compatible chat-completions server on 127.0.0.1, for tests of the real client.

A responder turns each request body into a Reply: a status and JSON body, optionally after a
delay (to make the client time out) or as raw bytes (to send a broken body)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ids = itertools.count(1)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: dict[str, Any] | None = None
    delay: float = 0.0
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def completion(*, content: str | None = None, tool_calls: list[dict[str, Any]] | None = None,
               usage: tuple[int, int] = (100, 10), model: str = "loop-model") -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"id": f"chatcmpl-{next(_ids)}", "object": "chat.completion", "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if tool_calls else "stop"}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                      "total_tokens": sum(usage)}}


def tool_call(name: str, arguments: dict[str, Any] | str) -> dict[str, Any]:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": f"call_{next(_ids)}", "type": "function",
            "function": {"name": name, "arguments": raw}}


def rate_limited() -> Reply:
    return Reply(429, {"error": {"message": "Rate limit reached", "type": "rate_limit_exceeded"}},
                 headers={"retry-after": "0"})


def server_error() -> Reply:
    return Reply(500, {"error": {"message": "The server had an error", "type": "server_error"}})


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: dict[str, Any]


class LoopbackServer:
    """`with LoopbackServer(responder) as server:` serves at `server.url` until the block ends."""

    def __init__(self, responder: Callable[[dict[str, Any]], Reply]) -> None:
        self.responder = responder
        self.received: list[Received] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with outer._lock:
                    outer.received.append(Received({k.lower(): v for k, v in self.headers.items()},
                                                   body))
                reply = outer.responder(body) if self.path.endswith("/chat/completions") else \
                    Reply(404, {"error": {"message": f"no route {self.path}"}})
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test): nothing to tell it

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def queue(*replies: Reply) -> Callable[[dict[str, Any]], Reply]:
    """A responder that answers with the replies in order (one request at a time)."""
    pending = list(replies)
    lock = threading.Lock()

    def respond(_body: dict[str, Any]) -> Reply:
        with lock:
            if not pending:
                return Reply(500, {"error": {"message": "the test script is used up"}})
            return pending.pop(0)

    return respond
