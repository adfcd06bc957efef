"""One client against the real daemon's SMTP listener, as an attacker and as a clumsy client.

Three hundred idle sockets from one address take only that address's share of sessions:
a sender on another address gets 250 every time while they are held. A reverse-path with a
NUL is refused, not cleaned into another address. Mail with lines far beyond RFC 5321's 1000
octets (an unfolded subject, an unwrapped paragraph) is taken, stored as received and made a
ticket. Raw sockets throughout: smtplib would tidy the input.
"""

from __future__ import annotations

import json
import socket
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from mailtickets.db.models import InboundRaw
from tests.faults.figures import Figures
from tests.faults.site import QUEUE, Site

ATTACKER = "127.0.0.1"
#: The rest of the world: a second loopback address.
WORLD = "127.0.0.2"
PER_CLIENT = 10
#: Cheap to hold at any scale, so the issue's number always.
IDLE = 300


class Client:
    """One SMTP session over a raw socket from `source`, reading each reply whole."""

    def __init__(self, port: int, source: str) -> None:
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=60, source_address=(source, 0)
        )
        self._reader = self.sock.makefile("rb")
        self.greeting = self.reply()

    def reply(self) -> bytes:
        """The last line of the server's next reply; b"" when it hung up."""
        while (line := self._reader.readline())[3:4] == b"-":
            pass
        return line.rstrip(b"\r\n")

    def command(self, line: bytes) -> bytes:
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def send(self, sender: bytes, raw: bytes) -> bytes:
        """One transaction; the reply to the end of DATA (or the first refusal)."""
        for line in (b"MAIL FROM:<" + sender + b">", f"RCPT TO:<{QUEUE}>".encode(), b"DATA"):
            answer = self.command(line)
            if answer[:1] not in (b"2", b"3"):
                return answer
        self.sock.sendall(raw + b".\r\n")
        return self.reply()

    def close(self) -> None:
        self._reader.close()
        self.sock.close()


def _mail(message_id: str, subject: str, body: str) -> bytes:
    return (
        f"From: Ana <ana@example.com>\r\nTo: {QUEUE}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{message_id}>\r\nDate: Mon, 02 Nov 2026 09:00:00 +0000\r\n\r\n{body}\r\n"
    ).encode()


def _probe(port: int, n: int) -> bytes:
    client = Client(port, WORLD)
    try:
        client.command(b"EHLO world.example")
        return client.send(
            b"world@example.com", _mail(f"probe-{n}@example.com", f"probe {n}", "hi")
        )
    finally:
        client.command(b"QUIT")
        client.close()


def test_idle_sockets_from_one_address_leave_the_world_served(
    tmp_path: Path, figures: Figures
) -> None:
    count = IDLE
    site = Site(tmp_path, smtp='greeting_timeout = "2s"\n')
    held: list[Client] = []
    probes: list[bytes] = []
    with site.daemon(log_level="error") as daemon:
        for n in range(count):
            held.append(Client(site.smtp_port, ATTACKER))
            if n % 30 == 29:
                probes.append(_probe(site.smtp_port, n))
        greetings = Counter(client.greeting[:3] for client in held)
        refusals = {client.greeting for client in held if client.greeting.startswith(b"421")}
        # The sessions that were admitted say nothing; each read returns when the server
        # ends it after the greeting timeout.
        ends = Counter(client.reply() for client in held if client.greeting.startswith(b"220"))
        for client in held:
            client.close()
        site.settle()
        assert daemon.stop() == 0, daemon.output
    on_tickets = site.ticket_message_ids()
    site.close()

    figures.tried = f"{count} idle sockets from {ATTACKER}; a sender on {WORLD} every 30 of them"
    figures.faults = count
    figures.messages = len(probes)
    figures.note(f"greeted {dict(greetings)}; admitted ones ended with {dict(ends)}")
    figures.survived = f"probes answered {dict(Counter(p[:3] for p in probes))}"
    assert greetings == {b"220": PER_CLIENT, b"421": count - PER_CLIENT}
    assert refusals == {b"421 4.7.0 Too many connections from 127.0.0.1, try again later"}
    assert ends == {b"421 4.4.2 Timeout exceeded, closing connection": PER_CLIENT}
    assert [p[:3] for p in probes] == [b"250"] * len(probes)
    assert sorted(on_tickets) == sorted(f"probe-{n}@example.com" for n in range(29, count, 30))


def test_long_lines_are_kept_and_a_nul_sender_is_refused(tmp_path: Path, figures: Figures) -> None:
    subject = " ".join(f"word{n:04d}" for n in range(1112))[:10_000]  # unfolded, 10,000 chars
    paragraph = " ".join(f"text{n:04d}" for n in range(556))[:5_000]  # one line, 5,000 chars
    raw = _mail("long@example.com", subject, paragraph)
    site = Site(tmp_path)
    with site.daemon(log_level="error") as daemon:
        client = Client(site.smtp_port, WORLD)
        client.command(b"EHLO world.example")
        nul = client.command(b"MAIL FROM:<ana\x00@example.com>")
        client.command(b"RSET")
        taken = client.send(b"ana@example.com", raw)
        client.command(b"QUIT")
        client.close()
        site.settle()
        assert daemon.stop() == 0, daemon.output
    with site.sessions() as session:
        [stored] = session.scalars(select(InboundRaw.raw)).all()
    shown = site.cli("tickets", "show", "1", "--json")
    site.close()

    figures.tried = "a 10,000-character subject and a 5,000-character body line; NUL in MAIL FROM"
    figures.faults = 2
    figures.messages = 1
    figures.survived = f"long mail {taken[:3].decode()}, NUL sender {nul[:3].decode()}"
    assert nul == b"553 5.1.7 Sender address rejected: it contains a control character"
    assert taken.startswith(b"250 2.0.0 Ok: stored as intake #1")
    assert stored.endswith(b"\r\n" + raw)
    assert shown.returncode == 0, shown.stderr
    ticket = json.loads(shown.stdout)
    assert ticket["subject"] == subject[: len(ticket["subject"])]
    assert ticket["customer"] == "ana@example.com"
    assert paragraph in ticket["messages"][0]["new_text"]
