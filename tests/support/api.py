"""A real `mailtickets run` with its HTTP API on, holding a few tickets made by real mail."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from typing import Any

import requests

from tests.support.cli import SECRET, mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.mail import compose
from tests.support.relay import free_port

READ_TOKEN = SECRET
WRITE_TOKEN = SECRET[::-1]
AGENT = "alice@acme.example"
#: The file the first ticket carries; its name tries to climb out of any directory.
FILE_NAME = '../../etc/"pass\\wd".txt'
FILE_BYTES = b"line one\nline two\n"


@dataclass
class ApiSite:
    directory: Path
    base: str  # http://127.0.0.1:PORT
    smtp_port: int
    daemon: Daemon

    def get(self, path: str, token: str | None = READ_TOKEN, **kwargs: Any) -> requests.Response:
        return requests.get(self.base + path, headers=_auth(token), timeout=10, **kwargs)

    def send(
        self,
        method: str,
        path: str,
        token: str | None = WRITE_TOKEN,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        sent = _auth(token) | (headers or {})
        return requests.request(method, self.base + path, headers=sent, timeout=10, **kwargs)

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        response = self.get(f"/api/v1/tickets/{ticket_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def mail(self, raw: bytes) -> None:
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as client:
            client.sendmail("ana@example.com", ["support@acme.example"], raw)

    def texts_to(self, address: str) -> list[str]:
        """The plain text of each mail the daemon wrote to its outbox maildir for `address`
        (no relay is configured)."""
        texts = []
        for path in sorted((self.directory / "var" / "outbox" / "new").glob("*")):
            mail = BytesParser(policy=default).parsebytes(path.read_bytes())
            body = mail.get_body(("plain",))
            if address in str(mail["To"]) and isinstance(body, EmailMessage):
                texts.append(body.get_content())
        return texts


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def until(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Wait for `condition`, looking again every 0.1 s."""
    waiter = threading.Event()
    for _ in range(int(timeout * 10)):
        if condition():
            return
        waiter.wait(0.1)
    raise AssertionError("condition not met in time")


def _with_file() -> bytes:
    message = EmailMessage()
    message["From"] = "Ana Cliente <ana@example.com>"
    message["To"] = "support@acme.example"
    message["Subject"] = "Log attached"
    message["Message-ID"] = "<with-file@client.example>"
    message.set_content("The log is attached.\n")
    message.add_attachment(FILE_BYTES, maintype="text", subtype="plain", filename=FILE_NAME)
    return message.as_bytes()


@contextmanager
def api_site(directory: Path, tickets: int = 3, database: str | None = None) -> Iterator[ApiSite]:
    """The daemon with the API and metrics on one address, and `tickets` tickets: the first
    from Ana with a file, the others from other customers, without; on SQLite unless
    `database` is another URL."""
    http, smtp = free_port(), free_port()
    url = database or f"sqlite:///{directory}/mt.db"
    config = directory / "site.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[storage]\ndir = "{directory}/var"\n'
        '[tickets]\nsubject_prefix = "ACME"\n[[queue]]\naddress = "support@acme.example"\n'
        f'[[smtp]]\nhost = "127.0.0.1"\nport = {smtp}\n'
        f'[[agent]]\naddress = "{AGENT}"\nname = "Alice Agent"\n'
        f'[metrics]\nlisten = "127.0.0.1:{http}"\n[api]\nlisten = "127.0.0.1:{http}"\n'
        '[[api.token]]\nname = "dashboard"\ntoken_env = "API_READ"\n'
        '[[api.token]]\nname = "crm"\ntoken_env = "API_WRITE"\nscope = "write"\n'
    )
    env = {"API_READ": READ_TOKEN, "API_WRITE": WRITE_TOKEN, "MAILTICKETS_SECRET": SECRET}
    upgraded = mailtickets("--config", str(config), "db", "upgrade", cwd=directory, env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    with Daemon(directory, ("--config", str(config)), env) as daemon:
        daemon.wait_for(READY_LINE)
        site = ApiSite(directory, f"http://127.0.0.1:{http}", smtp, daemon)
        site.mail(_with_file())
        for n in range(2, tickets + 1):
            site.mail(compose(sender=f"Customer {n} <c{n}@example.com>", subject=f"Case {n}"))
        until(lambda: len(site.get("/api/v1/tickets").json()["tickets"]) == tickets)
        yield site
        assert daemon.stop() == 0, daemon.output
