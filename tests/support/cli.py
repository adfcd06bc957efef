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


def environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a `mailtickets` process: ours without MAILTICKETS_* settings,
    `env` over it, and this source tree first on the module path."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MAILTICKETS_")}
    environ.update(env or {})
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
