"""Run the real `mailtickets` command line in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

COMMAND = [sys.executable, "-m", "mailtickets"]


def mailtickets(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """`mailtickets ARGS` in `cwd`, with `env` over a copy of the environment."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MAILTICKETS_")}
    environ.update(env or {})
    return subprocess.run(
        [*COMMAND, *args],
        cwd=cwd,
        env=environ,
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
