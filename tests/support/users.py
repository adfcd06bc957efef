"""The real `mailtickets` command run as another user, and places that user can reach.

Tests about who owns which file run the CLI as root and as an unprivileged user (`nobody`,
through setpriv). That user must be able to run an interpreter with mailtickets' packages:
this environment's own when it can, else the system's Python of the same version with this
environment's packages on its path (a venv built from a Python under /root, as on some
development machines, is out of other users' reach).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest

from tests.support.cli import environment
from tests.support.daemon import Daemon

#: The unprivileged user the tests use; it exists on every Debian system.
USER = "nobody"
GROUP = "nogroup"
ROOT = Path(__file__).parents[2]


def require_root() -> None:
    """Skip unless running as root (to switch users), except under CI=true."""
    if os.geteuid() == 0 and shutil.which("setpriv"):
        return
    reason = "switching users needs root and setpriv (util-linux)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " (CI=true: these tests must run)")
    pytest.skip(reason)


def as_user(user: str | None) -> list[str]:
    """The argv prefix that runs a command as `user` (None: unchanged).

    setpriv, not runuser: it execs the command itself, so signals and exit codes are the
    command's own.
    """
    if user is None:
        return []
    return ["setpriv", f"--reuid={user}", f"--regid={user_group(user)}", "--init-groups", "--"]


def user_group(user: str) -> str:
    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


@cache
def python() -> tuple[tuple[str, ...], dict[str, str]]:
    """An interpreter command every user can run, and the variables it needs."""
    # The code under test, wherever the interpreter comes from.
    ours = {"PYTHONPATH": str(ROOT)}
    if _works_as(USER, sys.executable, ours, same_as_ours=True):
        return (sys.executable,), ours
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/local/bin:/usr/bin:/bin")
    paths = dict.fromkeys([str(ROOT), *(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))])
    borrowed = {"PYTHONPATH": os.pathsep.join(paths)}
    if system is None or not _works_as(USER, system, borrowed, same_as_ours=False):
        pytest.fail(f"no {version} that {USER} can run: {sys.executable} is out of its reach")
    return (system,), borrowed


def _works_as(user: str, interpreter: str, env: dict[str, str], *, same_as_ours: bool) -> bool:
    """Whether `user` can run `interpreter` with mailtickets and its packages (a venv's
    link to an unreachable Python may start another one, hence the version check)."""
    probe = subprocess.run(
        [*as_user(user), interpreter, "-c", "import sys, sqlite3, sqlalchemy; print(sys.version)"],
        cwd="/",
        env=environment(env),
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.returncode == 0 and (not same_as_ours or probe.stdout.strip() == sys.version)


def command(*args: str) -> list[str]:
    """The argv of `mailtickets ARGS` with the interpreter every user can run."""
    interpreter, _ = python()
    return [*interpreter, "-m", "mailtickets", *args]


def mailtickets_as(
    user: str | None,
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[str]:
    """`mailtickets ARGS` in `cwd`, as `user` (None: as this process's user, root)."""
    _, variables = python()
    return subprocess.run(
        [*as_user(user), *command(*args)],
        cwd=cwd,
        env=environment({**variables, **(env or {})}),
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def daemon_as(user: str | None, cwd: Path, args: tuple[str, ...] = ()) -> Daemon:
    """`mailtickets ARGS run` as `user` (None: as root), stopped like any `Daemon`."""
    _, variables = python()
    return Daemon(cwd, args, env=variables, command=[*as_user(user), *command()])


@contextmanager
def shared_directory(prefix: str) -> Iterator[Path]:
    """A fresh directory other users can reach (pytest's tmp_path is private to root)."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def give(path: Path, user: str = USER, group: str = GROUP) -> None:
    """Make `user` the owner of `path`."""
    shutil.chown(path, user, group)
