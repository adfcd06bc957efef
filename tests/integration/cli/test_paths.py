"""Relative paths in a config file follow the file; commands that only read create nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtickets.db import migrate
from tests.support.cli import mailtickets
from tests.support.daemon import Daemon
from tests.support.relay import free_port


def tree(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A config file in site/ with relative paths; the commands run from elsewhere/."""
    (tmp_path / "site").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "site" / "mailtickets.toml").write_text(
        '[storage]\ndir = "state"\n'
        '[outgoing]\nmaildir = "mail/out"\n'
        '[[queue]]\naddress = "support@acme.example"\n'
        f"[[smtp]]\nport = {free_port()}\n"
    )
    return tmp_path / "site"


def test_relative_paths_follow_the_config_file_not_the_working_directory(site: Path) -> None:
    elsewhere = site.parent / "elsewhere"
    config = "../site/mailtickets.toml"
    upgraded = mailtickets("--config", config, "db", "upgrade", cwd=elsewhere)
    assert upgraded.returncode == 0, upgraded.stderr
    database = site / "state" / "mailtickets.db"
    assert upgraded.stdout == f"sqlite:///{database}: at revision {migrate.head()}\n"
    assert tree(site) == [
        "mailtickets.toml",
        "state",
        "state/mailtickets.db",
        "state/secret.key",
    ]
    assert tree(elsewhere) == []

    with Daemon(elsewhere, ("--config", config)) as daemon:
        daemon.wait_for("Stop with Ctrl-C")
        assert f"outgoing mail is written to the maildir {site / 'mail' / 'out'}/" in daemon.output
        assert daemon.stop() == 0
    assert tree(elsewhere) == []


@pytest.mark.parametrize(
    "command",
    [
        ("tickets", "list"),
        ("tickets", "show", "1"),
        ("outbox", "list"),
        ("quarantine", "list"),
        ("status",),
        ("contacts", "show", "ana@example.com"),
        ("db", "current"),
        ("db", "check"),
    ],
    ids=" ".join,
)
def test_a_command_that_only_reads_creates_no_database(
    site: Path, command: tuple[str, ...]
) -> None:
    elsewhere = site.parent / "elsewhere"
    result = mailtickets("--config", str(site / "mailtickets.toml"), *command, cwd=elsewhere)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"mailtickets: {site / 'state' / 'mailtickets.db'}: no such database; "
        "run `mailtickets db upgrade` to create it"
    ]
    assert tree(site) == ["mailtickets.toml"]
    assert tree(elsewhere) == []
