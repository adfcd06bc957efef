"""The real `mailtickets run` reading a Dovecot mailbox: mail in over IMAP becomes a ticket and
is marked seen; a mailbox refusing the login is one error line while IMAP and SMTP go on."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import SEEN

from tests.support.cli import mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.dovecot import Dovecot, User, running_dovecot
from tests.support.mail import compose
from tests.support.relay import free_port


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


def _site(
    tmp_path: Path, server: Dovecot, good: User, bad: User, env: dict[str, str]
) -> tuple[Path, int]:
    port = free_port()
    mailboxes = "".join(
        f'[[imap]]\nname = "{name}"\nhost = "127.0.0.1"\nport = {server.port}\ntls = "none"\n'
        f'username = "{user.name}"\npassword_env = "{env}"\n'
        for name, user, env in (("support", good, "GOOD_PASSWORD"), ("broken", bad, "BAD_PASSWORD"))
    )
    config = tmp_path / "site.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/mt.db"\n[storage]\ndir = "{tmp_path}/var"\n'
        '[tickets]\nsubject_prefix = "ACME"\n'
        '[[queue]]\naddress = "support@acme.example"\n'
        f'[[smtp]]\nhost = "127.0.0.1"\nport = {port}\n' + mailboxes
    )
    upgraded = mailtickets("--config", str(config), "db", "upgrade", cwd=tmp_path, env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    return config, port


def test_imap_mail_becomes_a_ticket_and_a_refused_login_stops_nothing(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    good, bad = dovecot.add_user(), dovecot.add_user()
    env = {"GOOD_PASSWORD": good.password, "BAD_PASSWORD": "not-the-password"}
    config, port = _site(tmp_path, dovecot, good, bad, env)
    with dovecot.session(good) as imap:
        imap.append("INBOX", compose(subject="Impressora parada (IMAP)"))
    with Daemon(tmp_path, ("--config", str(config)), env) as daemon:
        daemon.wait_for(READY_LINE)
        daemon.wait_for("outbox #1 sent")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("bia@example.com", ["support@acme.example"], compose(subject="SMTP"))
        daemon.wait_for("outbox #2 sent")
        assert daemon.stop() == 0, daemon.output

    listed = mailtickets(
        "--config", str(config), "tickets", "list", "--json", cwd=tmp_path, env=env
    )
    subjects = sorted(ticket["subject"] for ticket in json.loads(listed.stdout))
    assert subjects == ["Impressora parada (IMAP)", "SMTP"]
    with dovecot.session(good) as imap:
        imap.select_folder("INBOX", readonly=True)
        flags = imap.fetch(imap.search(["ALL"]), ["FLAGS"])
    assert [SEEN in data[b"FLAGS"] for data in flags.values()] == [True]
    refused = [line for line in daemon.output.splitlines() if "mailbox broken:" in line]
    assert len(refused) == 1, daemon.output
    assert "ERROR" in refused[0] and f"the server refused user {bad.name}" in refused[0]
    assert "not-the-password" not in daemon.output
