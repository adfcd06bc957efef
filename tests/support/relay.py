"""A real SMTP relay for tests (aiosmtpd on a free port) that keeps what it accepts and can
be told to refuse (4xx, 5xx) or be switched off and on again on the same port."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller


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
    #: An SMTP answer for every RCPT, e.g. "550 5.1.1 no such user"; None accepts.
    rcpt_answer: str | None = None
    #: Answers for particular recipients, over `rcpt_answer`.
    rcpt_answers: dict[str, str] = field(default_factory=dict)
    data_answer: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        answer = self.rcpt_answers.get(address, self.rcpt_answer)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_answer:
            return self.data_answer
        raw = envelope.original_content or envelope.content
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(raw)))
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

    def up(self, smtputf8: bool = True) -> Relay:
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            enable_SMTPUTF8=smtputf8,
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
