"""The loopback HTTP endpoint: `/healthz` (each part's state; 503 when one is down) and
`/metrics` (Prometheus text format). Served by the standard library in its own thread."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mailtickets.errors import MailticketsError
from mailtickets.health import Health, Reporter
from mailtickets.metrics import Metrics

log = logging.getLogger(__name__)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)


class StatusEndpoint:
    """A daemon part; `parts` are the others (and the OAuth2 tokens), whose health it reports."""

    name = "status endpoint"

    def __init__(
        self, listen: tuple[str, int], parts: Sequence[Reporter], metrics: Metrics
    ) -> None:
        self._listen, self._parts, self._metrics = listen, parts, metrics
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_port)

    async def start(self) -> None:
        host, port = self._listen
        try:
            self._server = make_server(host, port, self._app, handler_class=_QuietHandler)
        except OSError as exc:
            raise MailticketsError(f"{self.name}: cannot listen on {host}:{port}: {exc}") from exc
        self._thread = threading.Thread(target=self._server.serve_forever, name="http")
        self._thread.daemon = True
        self._thread.start()

    async def stop(self) -> None:
        if self._server is not None:
            await asyncio.to_thread(self._server.shutdown)
            self._server.server_close()

    def health(self) -> Health:
        return Health(self._thread is not None and self._thread.is_alive())

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return self._healthz(start_response)
        if path == "/metrics":
            body = generate_latest(self._metrics.registry)
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /healthz or /metrics\n"]

    def _healthz(self, start_response: StartResponse) -> Iterable[bytes]:
        states = {part.name: part.health() for part in self._parts}
        ok = all(state.ok for state in states.values())
        body = {
            "status": "ok" if ok else "down",
            "parts": {name: {"ok": s.ok, "detail": s.detail} for name, s in states.items()},
        }
        start_response(
            "200 OK" if ok else "503 Service Unavailable",
            [("Content-Type", "application/json")],
        )
        return [json.dumps(body, indent=2).encode()]
