"""Run the real `mailtickets` command line in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

COMMAND = [sys.executable, "-m", "mailtickets"]
#: The source tree these tests belong to. A venv's editable install may point at another
#: checkout (a second git worktree); the command must run the code under test, not that one.
SOURCE = Path(__file__).resolve().parents[2]
#: Every test starts from these variables: an empty config search path, so that only a file the
#: test names is read, never a ./mailtickets.toml or the host's /etc/mailtickets/config.toml.
ISOLATED = {"MAILTICKETS_CONFIG_PATH": ""}

#: A signing key the configuration accepts (weak ones are refused: see `secret_weakness`).
SECRET = "test-signing-key-0123456789-abcdefghij"


def environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a `mailtickets` process: ours without MAILTICKETS_* settings, then
    `ISOLATED`, `env` over them, and this source tree first on the module path."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MAILTICKETS_")}
    environ |= ISOLATED | dict(env or {})
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE), environ.get("PYTHONPATH")]))
    return environ


def mailtickets(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """`mailtickets ARGS` in `cwd`, with `env` over a copy of the environment."""
    return subprocess.run(
        [*COMMAND, *args],
        cwd=cwd,
        env=environment(env),
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
