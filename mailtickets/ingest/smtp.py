"""The SMTP/LMTP edge: take mail for our queues and answer 250 only once it is committed.

`SmtpListener` is a daemon part serving one `[[smtp]]` listener with aiosmtpd on the daemon's
own event loop. `IntakeHandler` holds the aiosmtpd hooks: a recipient that is not a queue
address, an alias or a plus-address of one is refused at RCPT (nothing is ever relayed), and
DATA is answered after `accept` returned from a worker thread: 250 when stored, 451 on any
failure so that the sending MTA retries. Our `Received:` line travels as the intake trace,
stored but not hashed, so a retried delivery is still recognised as the same message.
The sessions' limits live in `smtp_session`, the trace line in `trace`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aiosmtpd.smtp import SMTP
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from aiosmtpd.smtp import Session as SmtpSession

from mailtickets.clock import Clock
from mailtickets.config.settings import QueueSettings, SmtpListenerSettings
from mailtickets.errors import DatabaseUnavailable, MailticketsError
from mailtickets.health import Health
from mailtickets.ingest.intake import Accepted, Envelope, header_message_id
from mailtickets.ingest.smtp_session import (
    SHUTTING_DOWN,
    LimitedLmtp,
    LimitedSmtp,
    Sessions,
)
from mailtickets.ingest.trace import received_header, with_protocol
from mailtickets.mail.addresses import normalise, split_plus

log = logging.getLogger(__name__)

#: Stores one message for good: (raw bytes, envelope, trace header) → its intake row.
AcceptFn = Callable[[bytes, Envelope, bytes], Accepted]

TEMPORARY_FAILURE = "451 4.3.0 Cannot store the message now, try again later"
UNKNOWN_RECIPIENT = "550 5.1.1 Recipient address rejected: not a mailbox of this server"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
TLS_REQUIRED = "530 5.7.0 Must issue a STARTTLS command first"


class Recipients:
    """The addresses we take mail for: queue addresses and aliases, plain or plus-tagged.

    The same rule the pipeline routes by (`mail.addresses.split_plus`), so whatever is taken
    here finds its queue there.
    """

    def __init__(self, queues: Iterable[QueueSettings]) -> None:
        self._addresses = frozenset(
            normalise(address) for queue in queues for address in (queue.address, *queue.aliases)
        )

    def accepts(self, address: str) -> bool:
        local, at, _ = address.rpartition("@")
        # `%` and `!` ask the receiving host to route the mail on; we never relay.
        if not at or "%" in local or "!" in local:
            return False
        base, _tag = split_plus(address)
        return base in self._addresses


def _uses_tls(server: SMTP) -> bool:
    # True after STARTTLS and on an implicit-TLS socket alike (aiosmtpd's own flag is not).
    transport = server.transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None


def _peer_ip(session: SmtpSession) -> str:
    peer: Any = session.peer
    return str(peer[0]) if isinstance(peer, tuple) else str(peer)


class IntakeHandler:
    """aiosmtpd hooks: refuse what is not ours, answer DATA only once `accept` committed it."""

    def __init__(
        self,
        *,
        source: str,
        recipients: Recipients,
        accept: AcceptFn,
        clock: Clock,
        hostname: str,
        max_recipients: int,
        require_tls: bool,
        on_accepted: Callable[[], None],
    ) -> None:
        self._source = source
        self._recipients = recipients
        self._accept = accept
        self._clock = clock
        self._hostname = hostname
        self._max_recipients = max_recipients
        self._require_tls = require_tls
        self._on_accepted = on_accepted
        self._closing = False
        self._storing = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def handle_EHLO(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: SmtpEnvelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        # aiosmtpd offers AUTH after STARTTLS with a callback that refuses everyone; we take
        # mail without authentication, so the offer would only mislead clients.
        return [line for line in responses if not line[4:].startswith("AUTH")]

    async def handle_MAIL(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: SmtpEnvelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self._closing:
            return SHUTTING_DOWN
        # Checked here rather than with aiosmtpd's require_starttls, which also refuses LHLO
        # and so makes STARTTLS unreachable over LMTP.
        if self._require_tls and not _uses_tls(server):
            return TLS_REQUIRED
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: SmtpEnvelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= self._max_recipients:
            return TOO_MANY_RECIPIENTS
        if not self._recipients.accepts(address):
            log.info("refused recipient %s from %s", address, _peer_ip(session))
            return UNKNOWN_RECIPIENT
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: SmtpEnvelope) -> str:
        recipients = tuple(envelope.rcpt_tos)
        reply = await self._store(server, session, envelope, recipients)
        # LMTP answers DATA once per accepted recipient (RFC 2033 4.2); aiosmtpd sends the
        # lines of a multi-line status as separate replies. One row serves every recipient.
        return "\r\n".join([reply] * (len(recipients) if self._source == "lmtp" else 1))

    async def _store(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: SmtpEnvelope,
        recipients: tuple[str, ...],
    ) -> str:
        # Taken from the envelope, so that once stored the message has no holder left: the
        # worker woken below reads it back, and a large one should not be in memory twice.
        raw = envelope.original_content or b""
        envelope.original_content = envelope.content = None
        self._storing += 1
        self._idle.clear()
        try:
            delivery = Envelope(self._source, _reverse_path(envelope.mail_from), recipients)
            trace = self._trace(server, session, recipients)
            accepted = await asyncio.to_thread(self._accept, raw, delivery, trace)
        except DatabaseUnavailable as exc:
            log.error("cannot store message-id %s now: %s", header_message_id(raw), exc)
            return TEMPORARY_FAILURE
        except Exception:
            log.exception("cannot store message-id %s", header_message_id(raw))
            return TEMPORARY_FAILURE
        finally:
            # The reply is written in the same step as this returns, so once `wait_idle`
            # wakes, every stored message has its 250 on the way.
            self._storing -= 1
            if not self._storing:
                self._idle.set()
        del raw
        self._on_accepted()
        already = "already " if accepted.duplicate else ""
        return f"250 2.0.0 Ok: {already}stored as intake #{accepted.id}"

    def _trace(self, server: SMTP, session: SmtpSession, recipients: tuple[str, ...]) -> bytes:
        return received_header(
            helo=session.host_name,
            peer_ip=_peer_ip(session),
            by=self._hostname,
            protocol=with_protocol(self._source, session.extended_smtp, _uses_tls(server)),
            recipient=recipients[0] if len(recipients) == 1 else None,
            now=self._clock.now(),
        )

    def close(self) -> None:
        """Refuse new transactions; those already in DATA still finish."""
        self._closing = True

    async def wait_idle(self) -> None:
        """Return once no message is being stored."""
        while self._storing:
            await self._idle.wait()


def _reverse_path(mail_from: str | None) -> str | None:
    # aiosmtpd reports the null reverse-path of bounces as the string "<>"; the intake keeps
    # it as "" (robots' mail: never acknowledged), distinct from None (not known).
    if mail_from is None:
        return None
    return "" if mail_from in ("", "<>") else mail_from


class SmtpListener:
    """A daemon part serving one `[[smtp]]` listener; `port` is the port actually bound."""

    def __init__(
        self,
        settings: SmtpListenerSettings,
        queues: Sequence[QueueSettings],
        accept: AcceptFn,
        clock: Clock,
        *,
        on_accepted: Callable[[], None] = lambda: None,
        hostname: str | None = None,
    ) -> None:
        self.name = f"{settings.protocol.upper()} listener on {settings.host}:{settings.port}"
        self._settings = settings
        self._recipients = Recipients(queues)
        self._accept = accept
        self._clock = clock
        self._on_accepted = on_accepted
        self._hostname = hostname
        self._sessions = Sessions(settings.max_connections, settings.max_connections_per_client)
        self._server: asyncio.Server | None = None
        self._handler: IntakeHandler | None = None

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError(f"{self.name} is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        settings = self._settings
        # Found once: aiosmtpd would otherwise ask DNS (getfqdn) for every connection.
        hostname = self._hostname
        if hostname is None:
            hostname = await asyncio.to_thread(socket.getfqdn)
        tls = _tls_context(settings)
        handler = IntakeHandler(
            source=settings.protocol,
            recipients=self._recipients,
            accept=self._accept,
            clock=self._clock,
            hostname=hostname,
            max_recipients=settings.max_recipients,
            require_tls=settings.require_tls,
            on_accepted=self._on_accepted,
        )
        loop = asyncio.get_running_loop()
        session_class = LimitedLmtp if settings.protocol == "lmtp" else LimitedSmtp
        options: dict[str, Any] = {
            "hostname": hostname,
            "ident": f"{'LMTP' if settings.protocol == 'lmtp' else 'ESMTP'} mailtickets",
            "data_size_limit": settings.max_message_size,
            "tls_context": None if settings.implicit_tls else tls,
            "timeout": settings.idle_timeout.total_seconds(),
            "greeting_timeout": settings.greeting_timeout.total_seconds(),
            "max_line_length": settings.max_line_length,
            "loop": loop,
        }
        try:
            self._server = await loop.create_server(
                lambda: session_class(handler, self._sessions, **options),
                settings.host,
                settings.port,
                ssl=tls if settings.implicit_tls else None,
            )
        except OSError as exc:
            raise MailticketsError(f"{self.name}: cannot listen: {exc.strerror or exc}") from exc
        self._handler = handler
        log.info("%s: listening on port %s as %s", self.name, self.port, hostname)

    def health(self) -> Health:
        if self._server is None or not self._server.is_serving():
            return Health(False, "not listening")
        return Health(True, f"listening on port {self.port}")

    async def stop(self) -> None:
        """Stop accepting, let messages in DATA be stored and answered, then hang up."""
        if self._server is None or self._handler is None:
            return
        self._server.close()
        self._handler.close()
        try:
            await self._handler.wait_idle()
        finally:
            # Also when the daemon's stop timeout cancels the wait: nobody is left talking.
            self._sessions.hang_up_all()
        await self._sessions.wait_closed()


def _tls_context(settings: SmtpListenerSettings) -> ssl.SSLContext | None:
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except OSError as exc:  # ssl.SSLError included
        raise MailticketsError(
            f"cannot load the TLS certificate {settings.tls_cert} and key {settings.tls_key}: "
            f"{exc.strerror or exc}"
        ) from exc
    return context
