"""Whose files: root's commands act as the owner of `[storage] dir`, strangers are refused.

Run as root, with `nobody` standing in for the service user (`mailtickets`), through the real
command line and the real daemon.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtickets.db import migrate
from tests.support.cli import SECRET
from tests.support.relay import free_port
from tests.support.smtp import self_signed_certificate
from tests.support.users import (
    USER,
    daemon_as,
    give,
    mailtickets_as,
    require_root,
    shared_directory,
)

ROOT = None  # mailtickets_as(ROOT, …): the command as this process's user, root


@pytest.fixture
def site() -> Iterator[Path]:
    """site/config.toml with relative paths; var/ made and given to the service user, as
    systemd-tmpfiles makes /var/lib/mailtickets for `mailtickets`."""
    require_root()
    with shared_directory("mailtickets-users-") as directory:
        (directory / "config.toml").write_text(
            f'[[queue]]\naddress = "support@acme.example"\n[[smtp]]\nport = {free_port()}\n'
        )
        (directory / "var").mkdir()
        give(directory / "var")
        yield directory


def owners(directory: Path) -> dict[str, str]:
    return {str(path.relative_to(directory)): path.owner() for path in directory.rglob("*")}


def single_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def error_line(stderr: str) -> str:
    """The one error line among the daemon's log lines (parts started, then stopped)."""
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("mailtickets: ")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_commands_run_as_root_leave_only_files_the_service_user_owns(site: Path) -> None:
    config = ("--config", str(site / "config.toml"))
    for args in (("db", "upgrade"), ("send-test", "ana@example.com"), ("tickets", "list")):
        result = mailtickets_as(ROOT, *config, *args, cwd=Path("/"))
        assert result.returncode == 0, result.stderr
    assert owners(site / "var") == {"mailtickets.db": USER, "secret.key": USER}

    # The daemon, as the service user, reads what root's commands made and sends the test
    # mail into its maildir.
    with daemon_as(USER, site, config) as daemon:
        daemon.wait_for("Stop with Ctrl-C")
        daemon.wait_for("outbox #1 sent")
        assert daemon.stop() == 0
    assert len(list((site / "var" / "outbox" / "new").iterdir())) == 1
    assert set(owners(site / "var").values()) == {USER}


def test_the_daemon_started_by_root_runs_as_the_owner(site: Path) -> None:
    config = ("--config", str(site / "config.toml"))
    assert mailtickets_as(USER, *config, "db", "upgrade", cwd=site).returncode == 0
    with daemon_as(ROOT, site, config) as daemon:
        daemon.wait_for("Stop with Ctrl-C")
        result = mailtickets_as(ROOT, *config, "send-test", "ana@example.com", cwd=site)
        assert result.returncode == 0, result.stderr
        daemon.wait_for("outbox #1 sent")
        assert daemon.stop() == 0
    assert set(owners(site / "var").values()) == {USER}


def test_another_user_is_refused_in_one_line(site: Path) -> None:
    give(site / "var", "root", "root")
    result = mailtickets_as(USER, "--config", str(site / "config.toml"), "db", "upgrade", cwd=site)
    assert result.returncode == 1
    assert single_line(result.stderr) == (
        f"mailtickets: {site / 'var'} belongs to root, not to {USER}: run this command as root, "
        f"or give the directory to {USER} (chown)"
    )
    assert list((site / "var").iterdir()) == []


def test_the_service_user_upgrades_from_any_directory(site: Path) -> None:
    # /root is out of nobody's reach: relative paths must not lead there.
    config = str(site / "config.toml")
    result = mailtickets_as(USER, "--config", config, "db", "upgrade", cwd=Path("/root"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"sqlite:///{site / 'var' / 'mailtickets.db'}: at revision {migrate.head()}\n"
    )
    # Without a config file the embedded default's ./var is /root/var: one line, no traceback.
    result = mailtickets_as(USER, "db", "upgrade", cwd=Path("/root"))
    assert result.returncode == 1
    assert single_line(result.stderr) == "mailtickets: /root/var: Permission denied"


def test_every_start_up_failure_of_run_is_one_line(site: Path) -> None:
    config = site / "config.toml"
    args = ("--config", str(config))
    # A database that is not there.
    assert error_line(mailtickets_as(USER, *args, "run", cwd=site).stderr) == (
        f"mailtickets: {site / 'var' / 'mailtickets.db'}: no such database; "
        "run `mailtickets db upgrade` to create it"
    )
    assert mailtickets_as(USER, *args, "db", "upgrade", cwd=site).returncode == 0

    # Storage the service user cannot write (root's command acts as that user).
    (site / "var").chmod(0o555)
    result = mailtickets_as(ROOT, *args, "run", cwd=site)
    assert result.returncode == 1
    assert error_line(result.stderr) == (
        "mailtickets: database error: attempt to write a readonly database "
        f"(sqlite:///{site / 'var' / 'mailtickets.db'})"
    )
    (site / "var").chmod(0o750)

    # The listener's port taken by another program.
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        config.write_text(f'[[queue]]\naddress = "s@acme.example"\n[[smtp]]\nport = {port}\n')
        result = mailtickets_as(USER, *args, "run", cwd=site, env={"MAILTICKETS_SECRET": SECRET})
    assert result.returncode == 1
    line = error_line(result.stderr)
    assert line.startswith("mailtickets: ")
    assert str(port) in line

    # A TLS certificate that cannot be read.
    cert, key = self_signed_certificate(site)
    cert.chmod(0o600)
    config.write_text(
        f'[[queue]]\naddress = "s@acme.example"\n[[smtp]]\nport = {free_port()}\n'
        f'tls_cert = "{cert.name}"\ntls_key = "{key.name}"\n'
    )
    result = mailtickets_as(USER, *args, "run", cwd=site, env={"MAILTICKETS_SECRET": SECRET})
    assert result.returncode == 1
    line = error_line(result.stderr)
    assert line.startswith(f"mailtickets: cannot load the TLS certificate {cert}")
