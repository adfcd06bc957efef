"""The real `mailtickets run`: mail in over SMTP, a ticket, an acknowledgement out; and a
SIGKILL right after the 250 neither loses nor doubles the message."""

from __future__ import annotations

import json
import mailbox
import signal
import smtplib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.cli import mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.mail import compose
from tests.support.relay import free_port


def _site(tmp_path: Path) -> tuple[Path, int]:
    port = free_port()
    config = tmp_path / "site.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/mt.db"\n[storage]\ndir = "{tmp_path}/var"\n'
        '[tickets]\nsubject_prefix = "ACME"\n'
        '[[queue]]\naddress = "support@acme.example"\n'
        f'[[smtp]]\nhost = "127.0.0.1"\nport = {port}\nmax_connections_per_client = 50\n'
    )
    assert mailtickets("--config", str(config), "db", "upgrade", cwd=tmp_path).returncode == 0
    return config, port


def _send(port: int, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("ana@example.com", ["support@acme.example"], raw)


def _tickets(config: Path, cwd: Path) -> list[dict[str, object]]:
    listed = mailtickets("--config", str(config), "tickets", "list", "--json", cwd=cwd)
    assert listed.returncode == 0, listed.stderr
    return list(json.loads(listed.stdout))


def _unsent(config: Path, cwd: Path) -> list[object]:
    listed = mailtickets("--config", str(config), "outbox", "list", "--json", cwd=cwd)
    assert listed.returncode == 0, listed.stderr
    return list(json.loads(listed.stdout))


def test_mail_in_ticket_and_acknowledgement_out(tmp_path: Path) -> None:
    config, port = _site(tmp_path)
    with Daemon(tmp_path, ("--config", str(config))) as daemon:
        daemon.wait_for(READY_LINE)
        _send(port, compose(subject="Impressora parada"))
        daemon.wait_for("outbox #1 sent")
        assert daemon.stop() == 0, daemon.output
    (ticket,) = _tickets(config, tmp_path)
    assert ticket["subject"] == "Impressora parada"
    outbox = mailbox.Maildir(tmp_path / "var" / "outbox", create=False)
    (ack,) = [outbox.get_message(key) for key in outbox.keys()]  # noqa: SIM118
    assert ack["Subject"] == "[ACME #1] Impressora parada"
    assert ack["To"] == "ana@example.com"


def test_sigkill_right_after_250_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    config, port = _site(tmp_path)
    with Daemon(tmp_path, ("--config", str(config))) as daemon:
        daemon.wait_for(READY_LINE)
        _send(port, compose(subject="sent just before the crash"))
        daemon.stop(signal.SIGKILL)
    with Daemon(tmp_path, ("--config", str(config))) as daemon:
        daemon.wait_for(READY_LINE)
        # The kill may have come before or after processing: wait for the state, not a log.
        for _ in range(60):
            if _tickets(config, tmp_path) and not _unsent(config, tmp_path):
                break
        assert daemon.stop() == 0, daemon.output
    tickets = _tickets(config, tmp_path)
    assert [t["subject"] for t in tickets] == ["sent just before the crash"]
    outbox = mailbox.Maildir(tmp_path / "var" / "outbox", create=False)
    assert len(outbox) == 1


def test_fifty_concurrent_clients_every_message_one_ticket(tmp_path: Path) -> None:
    config, port = _site(tmp_path)
    clients, per_client = 50, 20

    def client(number: int) -> list[int]:
        codes = []
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
            smtp.ehlo()
            for sequence in range(per_client):
                raw = compose(
                    sender=f"c{number}@example.com",
                    subject=f"c{number} m{sequence}",
                    message_id=f"c{number}-m{sequence}@example.com",
                )
                smtp.mail(f"c{number}@example.com")
                smtp.rcpt("support@acme.example")
                codes.append(smtp.data(raw)[0])
        return codes

    with Daemon(tmp_path, ("--config", str(config), "--log-level", "warning")) as daemon:
        daemon.wait_for(READY_LINE)
        with ThreadPoolExecutor(clients) as pool:
            codes = [c for batch in pool.map(client, range(clients)) for c in batch]
        assert codes == [250] * (clients * per_client)
        for _ in range(120):  # each look is a CLI run: wait on the state, not the clock
            tickets = _tickets(config, tmp_path)
            if len(tickets) >= clients * per_client:
                break
        assert daemon.stop() == 0, daemon.output
    subjects = [str(t["subject"]) for t in _tickets(config, tmp_path)]
    assert len(subjects) == clients * per_client
    assert len(set(subjects)) == clients * per_client
