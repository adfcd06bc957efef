"""The shipped systemd unit passes `systemd-analyze verify` and asks for what the daemon does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).parents[3] / "contrib" / "systemd" / "mailtickets.service"


def test_unit_verifies_clean(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing (CI=true: install systemd)")
        pytest.skip("systemd-analyze is not installed")
    # Point the unit at this installation's command so the check can see it exists.
    installed = Path(sys.executable).parent / "mailtickets"
    unit = tmp_path / "mailtickets.service"
    unit.write_text(UNIT.read_text().replace("/opt/mailtickets/bin/mailtickets", str(installed)))
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_unit_uses_notify_and_hardening() -> None:
    settings = dict(
        line.split("=", 1)
        for line in UNIT.read_text().splitlines()
        if "=" in line and line[0] != "#"
    )
    assert settings["Type"] == "notify"
    assert settings["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert settings["Restart"] == "on-failure"
    assert settings["ProtectSystem"] == "strict"
    assert settings["ReadWritePaths"] == "/var/lib/mailtickets"
    assert settings["NoNewPrivileges"] == "true"
    # Secrets come from /etc/mailtickets/.env, which mailtickets reads beside its config, so
    # that operators' commands and the MTA's pipe sign with the daemon's key.
    environment = [
        line.removeprefix("Environment=")
        for line in UNIT.read_text().splitlines()
        if line.startswith("Environment=")
    ]
    assert "MAILTICKETS_CONFIG=/etc/mailtickets/config.toml" in environment
    assert "EnvironmentFile" not in settings
