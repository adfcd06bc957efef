"""A real HTTP server for tests that receives webhook posts, verifies their signatures as a
receiver would, and answers as it is told (200 unless a test scripts other answers)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.relay import free_port


@dataclass(frozen=True)
class Post:
    path: str
    #: Lowercased names.
    headers: dict[str, str]
    body: bytes
    #: The status the receiver answered with.
    answered: int

    @property
    def json(self) -> dict[str, Any]:
        value = json.loads(self.body)
        assert isinstance(value, dict)
        return value

    def signed_with(self, secret: str) -> bool:
        """What a receiver checks: the HMAC-SHA256 of "<timestamp>.<body>" under `secret`."""
        timestamp = self.headers["x-mailtickets-timestamp"]
        expected = hmac.new(
            secret.encode(), timestamp.encode() + b"." + self.body, hashlib.sha256
        ).hexdigest()
        given = self.headers.get("x-mailtickets-signature", "")
        return hmac.compare_digest(given, f"sha256={expected}")


class Receiver:
    """Listens on 127.0.0.1 (a fixed port across `up()`/`down()`); keeps every post, and
    answers each with the next of `answers`, then 200."""

    def __init__(self) -> None:
        self.port = free_port()
        self.posts: list[Post] = []
        self.answers: list[int] = []
        self.arrived = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/helpdesk"

    def taken(self) -> list[Post]:
        """The posts it answered with a 2xx."""
        return [p for p in self.posts if 200 <= p.answered < 300]

    def up(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with receiver.arrived:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.posts.append(Post(self.path, headers, raw, status))
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads `posts`."""

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def wait_for(self, count: int, timeout: float = 60) -> list[Post]:
        """The posts once `count` of them were taken (2xx); fails if they do not come."""
        with self.arrived:
            came = self.arrived.wait_for(lambda: len(self.taken()) >= count, timeout)
        assert came, f"{count} post(s) expected, got {[p.json.get('type') for p in self.posts]}"
        return self.taken()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
