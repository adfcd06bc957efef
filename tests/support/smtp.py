"""Our SMTP/LMTP listener on a free port, in a background event loop, over a real database."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import selectinload

from mailtickets.config.settings import QueueSettings, SmtpListenerSettings
from mailtickets.db import migrate
from mailtickets.db.base import make_engine, session_factory
from mailtickets.db.models import InboundMessage
from mailtickets.ingest import intake
from mailtickets.ingest.intake import Accepted, Envelope
from mailtickets.ingest.smtp import AcceptFn, SmtpListener
from tests.support.clock import FrozenClock

HOSTNAME = "mx.test.example"
NOW = datetime(2025, 7, 1, 10, 0, tzinfo=UTC)
QUEUES = (
    QueueSettings("support@acme.example", "Support", "en", None, ("help@acme.example",)),
    QueueSettings("billing@acme.example", "Billing", "en", None),
)
LISTENER = SmtpListenerSettings(
    host="127.0.0.1",
    port=0,
    protocol="smtp",
    tls_cert=None,
    tls_key=None,
    require_tls=False,
    implicit_tls=False,
    max_message_size=1024 * 1024,
    max_recipients=100,
    max_connections=100,
    idle_timeout=timedelta(minutes=5),
)


class Store:
    """A migrated SQLite file and the `accept` callable a listener stores through."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = make_engine(url)
        migrate.upgrade(self.engine)
        self.sessions = session_factory(self.engine)

    def accept(self, raw: bytes, envelope: Envelope, trace: bytes) -> Accepted:
        return intake.accept(self.sessions, raw, envelope, NOW, trace)

    def rows(self) -> list[InboundMessage]:
        with self.sessions() as session:
            query = select(InboundMessage).options(selectinload(InboundMessage.body))
            return list(session.scalars(query.order_by(InboundMessage.id)))


class RunningListener:
    """An `SmtpListener` started on its own event loop in a thread; `port` is where it is."""

    def __init__(self, listener: SmtpListener) -> None:
        self.listener = listener
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    @property
    def port(self) -> int:
        return self.listener.port

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(30):
            raise AssertionError("the listener did not start within 30s")
        if self._failure is not None:
            raise self._failure

    def begin_stop(self) -> None:
        """Start `stop()`; return once it has closed the listening socket (see `join`)."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._begin_stop(), self._loop).result(30)

    def join(self, timeout: float = 30) -> None:
        """Wait for `stop()` to return."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the listener did not stop within {timeout}s"
        if self._failure is not None:
            raise self._failure

    def stop(self) -> None:
        if self._thread.is_alive():
            self.begin_stop()
            self.join()

    async def _begin_stop(self) -> None:
        assert self._stopping is not None
        self._stop_task = asyncio.ensure_future(self.listener.stop())
        self._stopping.set()
        # One turn of the loop: the task's first step (closing the socket) runs before ours.
        await asyncio.sleep(0)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            await self.listener.start()
        except BaseException as exc:  # noqa: BLE001  (re-raised in the test's thread)
            self._failure = exc
            return
        finally:
            self._ready.set()
        await self._stopping.wait()
        assert self._stop_task is not None
        try:
            await self._stop_task
        except BaseException as exc:  # noqa: BLE001  (re-raised in the test's thread)
            self._failure = exc


@contextmanager
def running(
    accept: AcceptFn,
    *,
    on_accepted: Callable[[], None] = lambda: None,
    **settings: Any,
) -> Iterator[RunningListener]:
    """Our listener on a free port with `LISTENER` settings changed by `settings`."""
    listener = SmtpListener(
        replace(LISTENER, **settings),
        QUEUES,
        accept,
        FrozenClock(NOW),
        on_accepted=on_accepted,
        hostname=HOSTNAME,
    )
    server = RunningListener(listener)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 and localhost, made with the openssl command."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-nodes", "-days", "2",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def message(subject: str = "Printer on fire", message_id: str = "m1@customer.example") -> bytes:
    """A small, plain customer message as the bytes a client would send."""
    mail = EmailMessage()
    mail["From"] = "Carol Customer <carol@customer.example>"
    mail["To"] = "support@acme.example"
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{message_id}>"
    mail["Date"] = "Tue, 01 Jul 2025 09:59:00 +0000"
    mail.set_content("The printer on floor 3 is on fire again.\n")
    return mail.as_bytes().replace(b"\n", b"\r\n")
