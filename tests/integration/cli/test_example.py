"""config.example.toml is copy-safe: copied as it ships, the real `check-config` passes."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.cli import mailtickets
from tests.unit.config.example import EXAMPLE


def test_the_example_as_shipped_passes_check_config_with_nothing_set(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    shutil.copy(EXAMPLE, config)
    # No variable at all (the helpers drop MAILTICKETS_*) and no .env beside it.
    result = mailtickets("--config", str(config), "check-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"{config}: ok (1 queue(s), 1 listener(s), 0 mailbox(es), 0 agent(s), 0 rule(s))\n"
    )
    assert list(tmp_path.iterdir()) == [config]
