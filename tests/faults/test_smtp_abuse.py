"""SMTP abuse against the real daemon: open-relay tricks, oversize mail, too many
recipients, a client trickling its message, hundreds of connections left idle. Each is
refused the way the RFCs say (or served, for the slow but honest client), nothing is
relayed, and an ordinary customer is served afterwards."""

from __future__ import annotations

import smtplib
import socket
import time
from collections import Counter
from pathlib import Path

from tests.faults.figures import Figures
from tests.faults.site import QUEUE, Site, wire
from tests.support.mail import compose

# The per-client limit is lifted so that the idle connections meet the listener's own limit
# (test_smtp_fairness holds them to the per-client one).
SMTP_LIMITS = (
    'max_message_size = "1MiB"\nmax_recipients = 5\nmax_connections = 100\nidle_timeout = "2s"\n'
    "max_connections_per_client = 1000\n"
)
RELAY_ATTEMPTS = [
    "victim@gmail.example",  # an unknown domain
    "<@acme.example:victim@gmail.example>",  # a source route
    "<@acme.example,@mx.acme.example:victim@gmail.example>",
    "victim%gmail.example@acme.example",  # the % hack
    "gmail.example!victim@acme.example",  # a bang path
    '"victim@gmail.example"@acme.example',  # a quoted local part holding an address
    "support@acme.example.gmail.example",
    "support@acme.example@gmail.example",
    "support@[127.0.0.1]",
    "postmaster@gmail.example",
]


def _code(reply: tuple[int, bytes]) -> int:
    return reply[0]


def _relay_attempts(port: int) -> dict[str, int]:
    answers = {}
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        for address in RELAY_ATTEMPTS:
            client.rset()
            client.mail("spammer@spam.example")
            target = address if address.startswith("<") else f"<{address}>"
            answers[address] = _code(client.docmd("RCPT TO:", target))
    return answers


def _oversize(port: int) -> tuple[int, int]:
    big = compose(body=("x" * 76 + "\n") * 28_000)  # 2 MiB in lines of proper length
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        declared = _code(client.docmd("MAIL FROM:", f"<a@example.com> SIZE={len(big)}"))
        client.rset()
        client.mail("a@example.com")
        client.rcpt(QUEUE)
        try:
            sent = _code(client.data(wire(big)))
        except smtplib.SMTPServerDisconnected:
            sent = 0
    return declared, sent


def _too_many_recipients(port: int) -> list[int]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        client.mail("a@example.com")
        return [_code(client.rcpt(f"support+{n}@acme.example")) for n in range(7)]


def _trickle(port: int, message_id: str) -> int:
    """An honest but slow client: its message arrives a few bytes at a time."""
    body = "Sent over a slow line.\n" * 100  # about 40 chunks: 4 s, twice the idle timeout
    raw = wire(compose(sender="slow@example.com", message_id=message_id, body=body))
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        reader = sock.makefile("rb")

        def command(line: bytes) -> int:
            sock.sendall(line + b"\r\n")
            while (reply := reader.readline())[3:4] == b"-":
                pass
            return int(reply[:3])

        reader.readline()
        for line in (
            b"EHLO slow.example",
            b"MAIL FROM:<slow@example.com>",
            f"RCPT TO:<{QUEUE}>".encode(),
            b"DATA",
        ):
            command(line)
        body = raw + b"\r\n.\r\n"
        for start in range(0, len(body), 64):
            sock.sendall(body[start : start + 64])
            time.sleep(0.1)  # slower than the whole idle timeout, but never silent that long
        return int(reader.readline()[:3])


def _idle_connections(port: int, count: int) -> tuple[Counter[int], list[socket.socket]]:
    greetings: Counter[int] = Counter()
    held = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        greetings[int(sock.recv(512)[:3] or b"0")] += 1
        held.append(sock)
    return greetings, held


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        data = sock.recv(512)
        while data and not data.endswith(b"\n"):
            data += sock.recv(512)
        return data == b"" or data.startswith(b"421")
    except OSError:
        return True


def _customer(port: int, message_id: str) -> int:
    """An ordinary sender, retrying on 4xx and refused connections as MTAs do."""
    for _ in range(60):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                raw = compose(sender="ana@example.com", message_id=message_id)
                client.ehlo()
                client.mail("ana@example.com")
                client.rcpt(QUEUE)
                return _code(client.data(wire(raw)))
        except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected, OSError):
            time.sleep(0.5)
    return 0


def test_abuse_is_refused_and_customers_are_served(tmp_path: Path, figures: Figures) -> None:
    site = Site(tmp_path, smtp=SMTP_LIMITS)
    with site.daemon(log_level="error") as daemon:
        relay = _relay_attempts(site.smtp_port)
        declared, oversize = _oversize(site.smtp_port)
        recipients = _too_many_recipients(site.smtp_port)
        trickled = _trickle(site.smtp_port, "slow@example.com")
        greetings, held = _idle_connections(site.smtp_port, 300)
        # Each read waits (up to 30 s) for the server to hang up, as it must after 2 s idle.
        hung_up = sum(_closed_by_server(sock) for sock in held)
        for sock in held:
            sock.close()
        served = _customer(site.smtp_port, "after@example.com")
        site.settle()
        assert daemon.stop() == 0, daemon.output

    on_tickets = site.ticket_message_ids()
    acknowledged = sorted(r for a in site.acknowledgements() for r in a.recipients)
    site.close()
    figures.tried = (
        f"{len(RELAY_ATTEMPTS)} open-relay tricks, a 2 MiB message to a 1 MiB limit (SIZE= "
        "and DATA), 7 recipients to a limit of 5, a client trickling 64 bytes every 0.1 s "
        "for 4 s against a 2 s idle timeout, 300 idle connections to a limit of 100, then a "
        "customer"
    )
    figures.faults = len(RELAY_ATTEMPTS) + 2 + 1 + 1 + 300
    figures.messages = len(on_tickets)
    figures.note(f"relay tricks answered {dict(Counter(relay.values()))}")
    figures.note(f"oversize: SIZE= {declared}, DATA {oversize}; RCPTs {recipients}")
    figures.note(f"idle: greeted {dict(greetings)}; {hung_up} of 300 hung up on after the timeout")
    figures.survived = (
        f"nothing relayed; slow client {trickled}; customer afterwards {served}; "
        f"tickets for {sorted(on_tickets)}"
    )
    assert all(500 <= code < 600 for code in relay.values()), relay
    assert (declared, oversize) == (552, 552)
    assert recipients == [250] * 5 + [452, 452]
    assert trickled == 250
    # At most 100 at once; the earlier clients' sessions may still be ending on the server.
    assert greetings[220] <= 100 and greetings[220] + greetings[421] == 300
    assert hung_up == 300
    assert served == 250
    assert sorted(on_tickets) == ["after@example.com", "slow@example.com"]
    assert acknowledged == ["ana@example.com", "slow@example.com"]
