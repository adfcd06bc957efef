"""`mailtickets secret new` makes a key the configuration accepts; weak keys are refused."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.cli import mailtickets


def test_secret_new_prints_a_fresh_strong_key_every_time(tmp_path: Path) -> None:
    first, second = (mailtickets("secret", "new", cwd=tmp_path) for _ in range(2))
    assert first.returncode == second.returncode == 0
    key = first.stdout.removesuffix("\n")
    # 32 random bytes, URL-safe base64: safe unquoted in a .env file or a shell.
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key), key
    assert second.stdout != first.stdout
    accepted = mailtickets("check-config", cwd=tmp_path, env={"MAILTICKETS_SECRET": key})
    assert accepted.returncode == 0, accepted.stderr
    assert list(tmp_path.iterdir()) == []  # it needs no config, database or directory


def test_a_weak_key_is_refused_in_one_line_naming_the_variable(tmp_path: Path) -> None:
    result = mailtickets("check-config", cwd=tmp_path, env={"MAILTICKETS_SECRET": "abc"})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "mailtickets: [tickets] secret_env: environment variable MAILTICKETS_SECRET is too short "
        "(3 characters, at least 32 are needed); make one with `mailtickets secret new` "
        "(the embedded default)"
    ]
