"""`mailtickets run` on the embedded default: starts in an empty directory, stops on signal."""

from __future__ import annotations

import shlex
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.relay import free_port


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_runs_on_the_embedded_default_and_stops_cleanly(tmp_path: Path, sig: int) -> None:
    upgraded = mailtickets("db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "var" / "mailtickets.db").is_file()

    with Daemon(tmp_path) as daemon:
        daemon.wait_for(READY_LINE)
        assert "--to support@localhost" in daemon.output
        assert daemon.stop(sig) == 0, daemon.output
        assert "Traceback" not in daemon.output
    key = tmp_path / "var" / "secret.key"
    assert key.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("protocol", ["smtp", "lmtp"])
def test_the_first_mail_command_it_suggests_is_taken(tmp_path: Path, protocol: str) -> None:
    config = tmp_path / "site.toml"
    config.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path}/site.db"

[storage]
dir = "{tmp_path}/var"

[[queue]]
name = "Support"
address = "support@acme.example"

[[smtp]]
host = "127.0.0.1"
port = {free_port()}
protocol = "{protocol}"
"""
    )
    assert mailtickets("--config", str(config), "db", "upgrade", cwd=tmp_path).returncode == 0
    with Daemon(tmp_path, ("--config", str(config))) as daemon:
        daemon.wait_for(READY_LINE)
        (hint,) = [line for line in daemon.output.splitlines() if "swaks" in line]
        command = shlex.split(hint.partition(": ")[2])
        sent = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        listed = mailtickets("--config", str(config), "tickets", "list", cwd=tmp_path)
        assert "you@example.com" in listed.stdout, listed.stdout + listed.stderr
        assert daemon.stop(signal.SIGTERM) == 0, daemon.output


def test_scheduler_bookkeeping_is_logged_only_at_debug(tmp_path: Path) -> None:
    assert mailtickets("db", "upgrade", cwd=tmp_path).returncode == 0
    with Daemon(tmp_path) as daemon:
        daemon.wait_for(READY_LINE)
        assert daemon.stop() == 0, daemon.output
    assert "INFO mailtickets.daemon: started scheduler" in daemon.output
    assert "apscheduler" not in daemon.output

    with Daemon(tmp_path, ("--log-level", "debug")) as daemon:
        daemon.wait_for(READY_LINE)
        assert daemon.stop() == 0, daemon.output
    assert "DEBUG apscheduler.scheduler: Adding job tentatively" in daemon.output
    assert "INFO apscheduler" not in daemon.output
