"""One uvicorn server as a daemon part, serving an ASGI application in the daemon's loop.

uvicorn rather than the standard library's WSGI server: it serves many slow clients at once
on the event loop the daemon already runs (a thread per request would not), keeps
connections alive, and is the server Starlette is made for. The socket is bound here, before
the server starts, so that an address in use fails `start()` with its name, as the SMTP
listener does.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from mailtickets.errors import MailticketsError
from mailtickets.health import Health

log = logging.getLogger(__name__)

#: Seconds a stopping server waits for requests in progress before it cancels them.
GRACE = 5
#: Seconds an idle kept-alive connection stays open.
KEEP_ALIVE = 5


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The daemon handles SIGTERM, SIGINT and SIGHUP for every part; uvicorn must not.
        yield


class HttpServer:
    """A daemon part: `app` served on `listen` until the daemon stops."""

    def __init__(self, listen: tuple[str, int], app: ASGIApp, what: str) -> None:
        self._listen, self._app = listen, app
        self.name = f"http {listen[0]}:{listen[1]} ({what})"
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._port = listen[1]

    @property
    def port(self) -> int:
        """The port served (the one chosen by the system when `listen` asked for 0)."""
        return self._port

    async def start(self) -> None:
        host, port = self._listen
        try:
            sock = socket.create_server((host, port), family=_family(host))
        except OSError as exc:
            raise MailticketsError(f"{self.name}: cannot listen on {host}:{port}: {exc}") from exc
        self._port = sock.getsockname()[1]
        if not _loopback(host):
            log.warning("%s: plain HTTP beyond loopback; put a TLS proxy in front", self.name)
        config = uvicorn.Config(
            self._app,
            http="h11",
            ws="none",
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            timeout_keep_alive=KEEP_ALIVE,
            timeout_graceful_shutdown=GRACE,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name=self.name)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task

    def health(self) -> Health:
        if self._task is None:
            return Health(False, "not started")
        if self._task.done():
            return Health(False, "stopped")
        return Health(True)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
