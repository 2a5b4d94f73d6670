"""A webhook receiver for tests, run as its own process: records requests, answers as told.

`python tests/webhook_receiver.py PORT [HOST]` (HOST: 127.0.0.1 unless given). `POST
/_control/plan` with a JSON list of answers (`{"status": 500, "headers": {...}, "delay": 1.5}`)
sets the next answers in order (then 200s);
`GET /_control/received` lists what arrived: path, headers, body and arrival time.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_lock = threading.Lock()
_plan: list[dict[str, Any]] = []
_received: list[dict[str, Any]] = []


class Handler(BaseHTTPRequestHandler):
    """Control requests under /_control, every other POST is a webhook delivery."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Stay quiet."""

    def do_GET(self) -> None:
        """Serve the recorded deliveries."""
        with _lock:
            self._answer(200, json.dumps(_received).encode())

    def do_POST(self) -> None:
        """Record a delivery and answer with the next planned answer, or take a new plan."""
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/_control/plan":
            with _lock:
                _plan[:] = json.loads(body)
            self._answer(204, b"")
            return
        with _lock:
            _received.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": body.decode(),
                    "at": time.time(),
                }
            )
            planned = _plan.pop(0) if _plan else {"status": 200}
        time.sleep(planned.get("delay", 0))
        self._answer(planned["status"], b"{}", planned.get("headers", {}))

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Receiver:
    """The test side: starts the receiver process on a port, plans answers, reads what came."""

    def __init__(self, port: int, log: Any = None, host: str = "127.0.0.1") -> None:
        self.port = port
        self.host = host
        self.base = f"http://{host}:{port}"
        self.url = f"{self.base}/hook"
        self._log = log
        self._child: Any = None

    def start(self) -> Receiver:
        """Start the process and wait until it answers."""
        import httpx

        from inferq.children import ChildProcess

        argv = [sys.executable, __file__, str(self.port), self.host]
        self._child = ChildProcess(f"receiver-{self.port}", argv, output=self._log)
        self._child.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.base}/_control/received", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise TimeoutError("the webhook receiver did not start")

    def stop(self) -> None:
        """Stop the process (a stopped receiver is a receiver that is down)."""
        if self._child is not None:
            self._child.stop(timeout=5)

    def plan(self, *answers: dict[str, Any]) -> None:
        """Answer the next deliveries with these, in order; 200 afterwards."""
        import httpx

        httpx.post(f"{self.base}/_control/plan", json=list(answers), timeout=5)

    def received(self) -> list[dict[str, Any]]:
        """Every delivery that arrived, oldest first."""
        import httpx

        return httpx.get(f"{self.base}/_control/received", timeout=5).json()


if __name__ == "__main__":
    bind = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    ThreadingHTTPServer((bind, int(sys.argv[1])), Handler).serve_forever()
