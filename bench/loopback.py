"""An OpenAI-compatible chat-completions server on 127.0.0.1 that answers after a fixed delay.

    python bench/loopback.py --delay 1.0      # prints its base URL, serves until killed

Answers come from bench/answers.py. It runs in its own process so its work never competes with
the orchestrator being measured for the GIL.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answers import completion  # noqa: E402


def serve(delay: float, port: int = 0) -> None:
    class Handler(BaseHTTPRequestHandler):
        # Keep connections open between requests, as vLLM, Ollama and OpenAI do (http.server's
        # default, HTTP/1.0, would make every client open a connection per request).
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms ACK wait

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            time.sleep(delay)
            data = json.dumps(completion(body)).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    serve(args.delay, args.port)
