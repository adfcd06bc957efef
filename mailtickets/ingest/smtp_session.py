"""aiosmtpd's SMTP and LMTP sessions with the limits of one listener.

At most `max_connections` sessions at a time and `max_connections_per_client` from one client
address (`Sessions`), counted once TLS is up, so one client holding idle sockets cannot lock
out the rest. Before MAIL a client has `greeting_timeout` to send each complete command
(bytes dribbled in do not count); from MAIL on, `timeout` applies and any bytes received
count as activity, so a slow upload is not cut off mid-DATA. Either timeout is answered
421 before hanging up, as Postfix does. A source route is refused rather than silently
shortened, a reverse-path with a control character is refused rather than cleaned, and
aiosmtpd's size and line-length refusals get their enhanced status code.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any, AnyStr

from aiosmtpd.lmtp import LMTP

from mailtickets.ingest.smtp_data import BufferedData

SOURCE_ROUTE = "550 5.7.1 Source routes are not accepted"
SHUTTING_DOWN = "421 4.3.2 Service shutting down, try again later"
TOO_MANY_CONNECTIONS = "421 4.7.0 Too many connections, try again later"
TIMEOUT = "421 4.4.2 Timeout exceeded, closing connection"
BAD_SENDER = "553 5.1.7 Sender address rejected: it contains a control character"

# aiosmtpd answers an oversized message (SIZE= or DATA) itself; these add the enhanced code.
_ENHANCED = {
    "552 Error: message size exceeds fixed maximum message size": (
        "552 5.3.4 Message size exceeds fixed maximum message size"
    ),
    "552 Error: Too much mail data": "552 5.3.4 Message size exceeds fixed maximum message size",
}


_SOURCE_ROUTE = re.compile(r"TO:\s*<\s*@", re.IGNORECASE)
# aiosmtpd's header-grammar parser drops a NUL from an address; no control character is
# allowed in one (RFC 5321 4.1.2), so the reverse-path is refused rather than cleaned.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# aiosmtpd's answer to a DATA line over its line_length_limit.
_LINE_TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"


def too_many_from(client: str) -> str:
    return f"421 4.7.0 Too many connections from {client}, try again later"


def line_too_long(limit: int) -> str:
    # Permanent: the same message sent again has the same line. 552, as for a message too
    # large, since the limit is about the memory one line may take.
    return f"552 5.3.4 Message has a line longer than {limit} bytes"


class Sessions:
    """The live sessions of one listener: at most `limit` at a time, `per_client` from one
    client address."""

    def __init__(self, limit: int, per_client: int) -> None:
        self.limit = limit
        self.per_client = per_client
        self.live: dict[LimitedSmtp, str] = {}
        self._clients: Counter[str] = Counter()
        self._empty = asyncio.Event()
        self._empty.set()

    def admit(self, session: LimitedSmtp, client: str) -> str | None:
        """None when `session` from `client` is admitted, else the reply refusing it."""
        if len(self.live) >= self.limit:
            return TOO_MANY_CONNECTIONS
        if self._clients[client] >= self.per_client:
            return too_many_from(client)
        self.live[session] = client
        self._clients[client] += 1
        self._empty.clear()
        return None

    def leave(self, session: LimitedSmtp) -> None:
        client = self.live.pop(session, None)
        if client is not None:
            self._clients[client] -= 1
            if not self._clients[client]:
                del self._clients[client]
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


def _client(transport: asyncio.BaseTransport) -> str:
    peer: Any = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) else str(peer)


class LimitedSmtp(BufferedData):
    """aiosmtpd's SMTP with our connection limits, timeouts, source-route and control
    character refusals, and enhanced codes, and DATA gathered in one buffer (`smtp_data`)."""

    def __init__(
        self,
        handler: object,
        sessions: Sessions,
        *,
        greeting_timeout: float,
        max_line_length: int,
        **options: Any,
    ) -> None:
        # aiosmtpd sizes its stream reader by this attribute in __init__, so it is set first.
        self.line_length_limit = max_line_length
        super().__init__(handler, **options)
        self._sessions = sessions
        self._admitted = False
        self._greeting_timeout = min(greeting_timeout, self._timeout_duration)
        self._replies = {**_ENHANCED, _LINE_TOO_LONG: line_too_long(max_line_length)}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Counted here, not when the protocol is created: a failed implicit-TLS handshake
        # never reaches this method and so never leaves a count behind. STARTTLS calls it
        # again with the TLS transport; the session is admitted once.
        if not self._admitted:
            refusal = self._sessions.admit(self, _client(transport))
            if refusal is not None:
                _say_and_close(transport, refusal)
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
        # upload of a large message would be cut off mid-DATA; once a transaction is under
        # way any bytes count as activity. Before it, a byte a minute must not hold a session.
        transport = self.transport
        if self._in_transaction() and transport is not None and not transport.is_closing():
            self._reset_timeout()
        super().data_received(data)

    def _in_transaction(self) -> bool:
        return self.envelope is not None and self.envelope.mail_from is not None

    def _reset_timeout(self, duration: float | None = None) -> None:
        if duration is None and not self._in_transaction():
            duration = self._greeting_timeout
        super()._reset_timeout(duration)

    def _timeout_cb(self) -> None:
        if self.transport is not None:
            _say_and_close(self.transport, TIMEOUT)

    def hang_up(self) -> None:
        if self.transport is not None:
            _say_and_close(self.transport, SHUTTING_DOWN)

    async def smtp_MAIL(self, arg: str | None) -> None:
        if arg is not None and _CONTROL.search(arg):
            await self.push(BAD_SENDER)
            return
        await super().smtp_MAIL(arg)
        # aiosmtpd restarted the timer before the command, with the greeting timeout.
        if self._in_transaction():
            self._reset_timeout()

    async def smtp_RCPT(self, arg: str | None) -> None:
        # aiosmtpd drops a source route (<@relay:user@domain>) and reports only user@domain,
        # which would make a route through us look like mail for one of our queues.
        if arg is not None and _SOURCE_ROUTE.match(arg):
            await self.push(SOURCE_ROUTE)
            return
        await super().smtp_RCPT(arg)

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str):
            status = self._replies.get(status, status)
        await super().push(status)


class LimitedLmtp(LimitedSmtp, LMTP):
    """The same session speaking LMTP: LHLO, and one DATA reply per recipient."""
