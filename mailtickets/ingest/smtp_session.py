"""aiosmtpd's SMTP and LMTP sessions with the limits of one listener.

At most `max_connections` sessions at a time (`Sessions`), counted once TLS is up; a source
route is refused rather than silently shortened; aiosmtpd's size refusals get their enhanced
status code; any bytes received count as activity, so a slow upload is not cut off mid-DATA.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, AnyStr

from aiosmtpd.lmtp import LMTP

from mailtickets.ingest.smtp_data import BufferedData

SOURCE_ROUTE = "550 5.7.1 Source routes are not accepted"
SHUTTING_DOWN = "421 4.3.2 Service shutting down, try again later"
TOO_MANY_CONNECTIONS = "421 4.7.0 Too many connections, try again later"

# aiosmtpd answers an oversized message (SIZE= or DATA) itself; these add the enhanced code.
_ENHANCED = {
    "552 Error: message size exceeds fixed maximum message size": (
        "552 5.3.4 Message size exceeds fixed maximum message size"
    ),
    "552 Error: Too much mail data": "552 5.3.4 Message size exceeds fixed maximum message size",
}


_SOURCE_ROUTE = re.compile(r"TO:\s*<\s*@", re.IGNORECASE)


class Sessions:
    """The live sessions of one listener, at most `limit` at a time."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.live: set[LimitedSmtp] = set()
        self._empty = asyncio.Event()
        self._empty.set()

    def admit(self, session: LimitedSmtp) -> bool:
        if len(self.live) >= self.limit:
            return False
        self.live.add(session)
        self._empty.clear()
        return True

    def leave(self, session: LimitedSmtp) -> None:
        self.live.discard(session)
        if not self.live:
            self._empty.set()

    def hang_up_all(self) -> None:
        for session in list(self.live):
            session.hang_up()

    async def wait_closed(self) -> None:
        await self._empty.wait()


def _say_and_close(transport: asyncio.BaseTransport, reply: str) -> None:
    if transport.is_closing():
        return
    if isinstance(transport, asyncio.WriteTransport):
        transport.write(reply.encode("ascii") + b"\r\n")
    transport.close()


class LimitedSmtp(BufferedData):
    """aiosmtpd's SMTP with our connection limit, source-route refusal and enhanced codes,
    and DATA gathered in one buffer (`smtp_data`)."""

    def __init__(self, handler: object, sessions: Sessions, **options: Any) -> None:
        super().__init__(handler, **options)
        self._sessions = sessions
        self._admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Counted here, not when the protocol is created: a failed implicit-TLS handshake
        # never reaches this method and so never leaves a count behind. STARTTLS calls it
        # again with the TLS transport; the session is admitted once.
        if not self._admitted:
            if not self._sessions.admit(self):
                _say_and_close(transport, TOO_MANY_CONNECTIONS)
                return
            self._admitted = True
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if not self._admitted:
            return
        self._sessions.leave(self)
        super().connection_lost(error)

    def data_received(self, data: bytes) -> None:
        # aiosmtpd restarts its idle timer only between commands, so a slow but steady
        # upload of a large message would be cut off mid-DATA; any bytes count as activity.
        if self.transport is not None and not self.transport.is_closing():
            self._reset_timeout()
        super().data_received(data)

    def hang_up(self) -> None:
        if self.transport is not None:
            _say_and_close(self.transport, SHUTTING_DOWN)

    async def smtp_RCPT(self, arg: str | None) -> None:
        # aiosmtpd drops a source route (<@relay:user@domain>) and reports only user@domain,
        # which would make a route through us look like mail for one of our queues.
        if arg is not None and _SOURCE_ROUTE.match(arg):
            await self.push(SOURCE_ROUTE)
            return
        await super().smtp_RCPT(arg)

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str):
            status = _ENHANCED.get(status, status)
        await super().push(status)


class LimitedLmtp(LimitedSmtp, LMTP):
    """The same session speaking LMTP: LHLO, and one DATA reply per recipient."""
