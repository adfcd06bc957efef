"""`mailtickets imap test` against a real Dovecot: one line per mailbox, the failed stage named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import mailtickets
from tests.support.dovecot import Dovecot, config_file, message, running_dovecot
from tests.support.relay import free_port


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


def test_every_mailbox_gets_one_ok_line_without_touching_the_database(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    support, sales = dovecot.add_user(), dovecot.add_user()
    folder = "Suporte/Solicitações"
    with dovecot.session(support) as imap:
        imap.create_folder(folder)
        imap.append("INBOX", message(1))
        imap.append("INBOX", message(2), flags=[b"\\Seen"])
    config, env = config_file(
        tmp_path,
        dovecot.mailbox(support, folders=("INBOX", folder)),
        dovecot.mailbox(sales),
    )
    result = mailtickets("--config", str(config), "imap", "test", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    where = f"127.0.0.1:{dovecot.port} (no TLS)"
    assert result.stdout.splitlines() == [
        f"{support.name}: ok, {support.name} at {where}: INBOX has 1 unseen of 2; "
        f"{folder} has 0 unseen of 0",
        f"{sales.name}: ok, {sales.name} at {where}: INBOX has 0 unseen of 0",
    ]
    assert not (tmp_path / "absent").exists()


def test_a_wrong_password_fails_at_authentication_and_exits_1(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    user, other = dovecot.add_user(), dovecot.add_user()
    wrong = "not-the-password-42"
    config, env = config_file(
        tmp_path, dovecot.mailbox(user, password=wrong), dovecot.mailbox(other)
    )
    result = mailtickets("--config", str(config), "imap", "test", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{user.name}: FAILED at authentication: the server refused user {user.name} "
        "(password): [AUTHENTICATIONFAILED] Authentication failed. "
        "(check username and password_env)",
        f"{other.name}: ok, {other.name} at 127.0.0.1:{dovecot.port} (no TLS): "
        "INBOX has 0 unseen of 0",
    ]
    assert result.stderr.splitlines()[-1] == "mailtickets: 1 of 2 mailbox(es) cannot be read"
    assert wrong not in result.stdout + result.stderr


def test_naming_a_mailbox_tests_only_that_one(dovecot: Dovecot, tmp_path: Path) -> None:
    user, other = dovecot.add_user(), dovecot.add_user()
    config, env = config_file(
        tmp_path, dovecot.mailbox(user, password="wrong"), dovecot.mailbox(other)
    )
    result = mailtickets("--config", str(config), "imap", "test", other.name, cwd=tmp_path, env=env)
    assert result.returncode == 0
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [other.name]

    result = mailtickets("--config", str(config), "imap", "test", "nobody", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f'mailtickets: no [[imap]] mailbox is named "nobody" in {config}'
    )


def test_dns_tcp_and_missing_folder_failures_are_named(dovecot: Dovecot, tmp_path: Path) -> None:
    user = dovecot.add_user()
    closed = free_port()
    config, env = config_file(
        tmp_path,
        dovecot.mailbox(user, name="unknown-host", host="mailbox.invalid"),
        dovecot.mailbox(user, name="closed-port", port=closed),
        dovecot.mailbox(user, name="no-folder", folders=("INBOX", "Archive"), after="move:Done"),
    )
    result = mailtickets("--config", str(config), "imap", "test", cwd=tmp_path, env=env)
    assert result.returncode == 1
    dns, tcp, folder = result.stdout.splitlines()
    assert dns.startswith("unknown-host: FAILED at DNS: cannot resolve mailbox.invalid: ")
    assert dns.endswith(" (check host)")
    assert tcp == (
        f"closed-port: FAILED at TCP connect: cannot connect to 127.0.0.1:{closed}: "
        "Connection refused (check host and port, and that the server is up)"
    )
    assert folder == (
        f'no-folder: FAILED at missing folder: "Archive", "Done" not found on '
        f"127.0.0.1:{dovecot.port} (the server has: INBOX) "
        "(check folders, after and quarantine_folder)"
    )
    assert result.stderr.splitlines()[-1] == "mailtickets: 3 of 3 mailbox(es) cannot be read"
