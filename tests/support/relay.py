"""A real SMTP relay for tests (aiosmtpd on a free port) that keeps what it accepts and can
be told to refuse (4xx, 5xx) — in the words of a real MTA, e.g. Postfix's `554 5.7.1 <{address}>:
Relay access denied` — require a login, or be switched off and on again on the same port."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

#: The one account of a relay started with `up(password=…)`.
USERNAME = "mailtickets"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    envelope_from: str
    recipients: list[str]
    raw: bytes
    #: When it arrived (time.perf_counter()), for latency measurements.
    at: float = field(default_factory=time.perf_counter)

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    #: An SMTP answer for every RCPT, e.g. "550 5.1.1 <{address}>: no such user" ({address}
    #: is the recipient); None accepts.
    rcpt_answer: str | None = None
    #: Answers for particular recipients, over `rcpt_answer`.
    rcpt_answers: dict[str, str] = field(default_factory=dict)
    #: An answer for every MAIL FROM ({address} is the sender); None accepts.
    mail_answer: str | None = None
    data_answer: str | None = None
    #: Seconds the relay takes before answering the final dot of a message it keeps, as a
    #: busy MTA delivering it meanwhile does.
    data_delay: float = 0.0
    #: When set, the relay answers the final dot of a message it keeps only once this is
    #: set: messages pile up unanswered, one per connection sending them.
    hold: threading.Event | None = None
    #: With `hold`: only messages to these recipients are held (all when empty).
    held_for: frozenset[str] = frozenset()
    #: Set by `Relay.up(password=…)`: MAIL FROM only after a successful AUTH.
    login_required: bool = False
    #: Notified each time a message is kept (`Relay.wait_for`).
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.login_required and not session.authenticated:
            return "530 5.7.0 Authentication required"
        if self.mail_answer:
            return self.mail_answer.replace("{address}", address)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        answer = self.rcpt_answers.get(address, self.rcpt_answer)
        if answer:
            return answer.replace("{address}", address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_answer:
            return self.data_answer
        raw = envelope.original_content or envelope.content
        with self.arrived:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(raw)))
            self.arrived.notify_all()
        await asyncio.sleep(self.data_delay)
        if self.hold is not None and (not self.held_for or self.held_for & set(envelope.rcpt_tos)):
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait)
        return "250 2.0.0 queued"


class Relay:
    """Start with `up()`, stop with `down()`; the port stays the same across restarts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.handler = _Handler()
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def wait_until(self, done: Callable[[list[Received]], bool], timeout: float = 60) -> None:
        """Wait until the messages kept so far satisfy `done`, woken by each arrival."""
        with self.handler.arrived:
            if not self.handler.arrived.wait_for(lambda: done(self.handler.received), timeout):
                raise AssertionError(f"the relay's messages did not come within {timeout}s")

    def wait_for(self, wanted: Callable[[Received], bool], timeout: float = 60) -> Received:
        """The first message kept for which `wanted` holds, waiting for it to arrive."""
        self.wait_until(lambda kept: any(wanted(r) for r in kept), timeout)
        return next(r for r in self.received if wanted(r))

    def up(self, smtputf8: bool = True, password: str | None = None) -> Relay:
        """Listen; with `password`, mail only after AUTH as `USERNAME` with it (530 5.7.0
        before, 535 5.7.8 for a wrong one), in cleartext, as a test may."""
        login: dict[str, Any] = {}
        if password is not None:

            def authenticate(
                server: Any, session: Any, envelope: Any, mechanism: str, data: Any
            ) -> AuthResult:
                valid = isinstance(data, LoginPassword) and (data.login, data.password) == (
                    USERNAME.encode(),
                    password.encode(),
                )
                return AuthResult(success=valid, handled=False)

            # aiosmtpd's own auth_required warns about cleartext, and warnings are errors in
            # the tests: handle_MAIL asks for the login instead, in Postfix's words.
            login = {"authenticator": authenticate, "auth_require_tls": False}
        self.handler.login_required = password is not None
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            enable_SMTPUTF8=smtputf8,
            # Above aiosmtpd's 32 MiB: a notice forwarding a 25 MB file is about 35 MB.
            data_size_limit=64 * 1024 * 1024,
            **login,
        )
        self._controller.start()
        return self

    def down(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class SilentRelay:
    """A relay that takes TCP connections and never says a word, as a hung MTA does, until
    `answer()` greets the waiting clients with a 421 and hangs up."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        # The kernel completes the handshakes; nobody accepts, so nobody answers.
        self._socket.listen(16)
        self.port = int(self._socket.getsockname()[1])

    def answer(self) -> None:
        self._socket.setblocking(False)
        while True:
            try:
                client, _ = self._socket.accept()
            except BlockingIOError:
                return
            with client:
                client.sendall(b"421 4.3.2 back later\r\n")

    def close(self) -> None:
        self._socket.close()
