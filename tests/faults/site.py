"""A helpdesk site for the real `mailtickets run`: its config file, and what its database holds.

The fault tests start, kill and restart daemons on a `Site`, then judge by the database:
which Message-IDs became ticket messages, which acknowledgements exist and were sent.
"""

from __future__ import annotations

import json
import mailbox
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from mailtickets.db.base import make_engine, session_factory
from mailtickets.db.models import (
    InboundMessage,
    IntakeStatus,
    Message,
    OutboundMessage,
    OutboundStatus,
)
from tests.support.cli import mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.dovecot import Dovecot, User
from tests.support.helpdesk import Helpdesk
from tests.support.relay import free_port

QUEUE = "support@acme.example"
SECRET = {"MAILTICKETS_SECRET": "fault-suite-signing-key-0123456789abcdef"}
ACKNOWLEDGEMENT = "customer/acknowledgement"


@dataclass
class Site:
    """A config file in `directory` for one helpdesk.

    `tickets` and `smtp` add lines to its `[tickets]` and `[[smtp]]` tables, `extra` appends
    whole tables; `outgoing_retry` is the outbox's first backoff.
    """

    directory: Path
    database_url: str = ""
    relay_port: int | None = None
    tickets: str = ""
    smtp: str = ""
    extra: str = ""
    outgoing_retry: str = "1s"
    env: dict[str, str] = field(default_factory=lambda: dict(SECRET))
    smtp_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.database_url:
            self.database_url = f"sqlite:///{self.directory}/mt.db"
        # Short retries (a lease lasts 4 x timeout), so that a delivery a fault interrupted
        # is tried again within the test; without a relay, mail goes to the local maildir.
        outgoing = f'[outgoing]\nretry_delay = "{self.outgoing_retry}"\ntimeout = "1s"\n' + (
            f'host = "127.0.0.1"\nport = {self.relay_port}\ntls = "none"\n'
            if self.relay_port is not None
            else ""
        )
        self.config = self.directory / "site.toml"
        self.config.write_text(
            f'[database]\nurl = "{self.database_url}"\n'
            f'[storage]\ndir = "{self.directory}/var"\n'
            f'[tickets]\nsubject_prefix = "ACME"\n{self.tickets}'
            '[ingest]\nretry_delay = "1s"\npoll_interval = "1s"\n'
            f'[metrics]\nlisten = "127.0.0.1:{self.metrics_port}"\n'
            f'[[queue]]\naddress = "{QUEUE}"\n'
            f'[[smtp]]\nhost = "127.0.0.1"\nport = {self.smtp_port}\n{self.smtp}'
            + outgoing
            + self.extra
        )
        upgraded = self.cli("db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        self.engine: Engine = make_engine(self.database_url)
        self.sessions = session_factory(self.engine)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return mailtickets("--config", str(self.config), *args, cwd=self.directory, env=self.env)

    def daemon(self, log_level: str = "warning") -> Daemon:
        """`mailtickets run` on this site, returned once it is ready."""
        daemon = Daemon(
            self.directory,
            ("--config", str(self.config), "--log-level", log_level),
            self.env,
        )
        daemon.wait_for(READY_LINE, timeout=60)
        return daemon

    def close(self) -> None:
        self.engine.dispose()

    def health(self) -> tuple[int, dict[str, object]]:
        """The status code and JSON body of the daemon's /healthz."""
        url = f"http://127.0.0.1:{self.metrics_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())

    def ticket_message_ids(self) -> Counter[str]:
        """How often each Message-ID of an incoming mail is on a ticket."""
        with self.sessions() as session:
            ids = session.scalars(select(Message.message_id).where(Message.direction == "in"))
            return Counter(ids)

    def ticket_count(self) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count(func.distinct(Message.ticket_id)))) or 0)

    def acknowledgements(self) -> list[OutboundMessage]:
        with self.sessions() as session:
            query = select(OutboundMessage).where(OutboundMessage.template == ACKNOWLEDGEMENT)
            return list(session.scalars(query))

    def unfinished(self) -> tuple[int, int]:
        """Intake rows still pending, outbox rows still pending."""
        with self.sessions() as session:
            intake = session.scalar(
                select(func.count()).where(InboundMessage.status == IntakeStatus.PENDING)
            )
            outbox = session.scalar(
                select(func.count()).where(OutboundMessage.status == OutboundStatus.PENDING)
            )
            return int(intake or 0), int(outbox or 0)

    def intake_by_status(self) -> Counter[str]:
        with self.sessions() as session:
            return Counter(str(s) for s in session.scalars(select(InboundMessage.status)))

    def settle_intake(self, timeout: float = 120) -> None:
        """Wait until every intake row is processed."""
        deadline = time.monotonic() + timeout
        while self.unfinished()[0] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not self.unfinished()[0], f"intake still pending after {timeout}s"

    def outbox_attempts(self) -> int:
        """Delivery attempts made so far, over every outbox row."""
        with self.sessions() as session:
            return int(session.scalar(select(func.sum(OutboundMessage.attempts))) or 0)

    def settle(self, done: Callable[[], bool] = lambda: True, timeout: float = 120) -> None:
        """Wait until intake and outbox are empty and `done()` holds, as the daemon works."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.unfinished() == (0, 0) and done():
                return
            time.sleep(0.2)
        with self.sessions() as session:
            errors = session.scalars(
                select(InboundMessage.last_error).where(
                    InboundMessage.status == IntakeStatus.PENDING
                )
            ).all()
        raise AssertionError(
            f"still unfinished after {timeout}s: {self.unfinished()}; intake errors {errors}"
        )


def imap_table(server: Dovecot, user: User, poll: str = "1s") -> str:
    """An `[[imap]]` table reading `user`'s INBOX; the password comes from $IMAP_PASSWORD."""
    return (
        f'[[imap]]\nname = "inbox"\nhost = "127.0.0.1"\nport = {server.port}\ntls = "none"\n'
        f'username = "{user.name}"\npassword_env = "IMAP_PASSWORD"\npoll_interval = "{poll}"\n'
    )


def take_sent(desk: Helpdesk) -> list[bytes]:
    """Deliver `desk`'s outbox into its maildir and take out what arrived there, in order."""
    desk.send_all()
    box = mailbox.Maildir(desk.app.settings.outgoing.maildir, create=True)
    sent = [box.get_bytes(key) for key in sorted(box.keys())]
    box.clear()
    return sent


def wire(raw: bytes) -> bytes:
    """`raw` with CRLF line ends: smtplib sends bytes as given, and SMTP lines end in CRLF."""
    return raw.replace(b"\n", b"\r\n")
