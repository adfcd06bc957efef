"""The README's install and upgrade steps, run as written, in a temporary root.

The commands are read from README.md's `### Install on Debian or Ubuntu` and `### Upgrade`
blocks, so the steps tested are the steps printed. Each runs in bash as written, with its
absolute paths (/opt, /etc, /var/lib, /usr/local/bin) moved into the temporary root and the
`mailtickets` account played by `nobody`. Not run: `apt-get` (the machine has python3-venv),
`useradd` (`nobody` exists) and `systemctl` (no systemd to talk to); the unit they would
start is checked by tests/integration/service/test_systemd_unit.py.
"""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtickets.db import migrate
from tests.support.cli import environment
from tests.support.users import GROUP, USER, require_root, shared_directory

REPOSITORY = Path(__file__).parents[2]
README = REPOSITORY / "README.md"
NOT_RUN = ("apt-get ", "useradd ", "systemctl ")
# What a root shell on Debian has on its PATH (as sudo's secure_path): the system's python3.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def installed_environment(env: dict[str, str]) -> dict[str, str]:
    """The tests' environment without PYTHONPATH, which would run the checkout's code."""
    return {k: v for k, v in environment(env).items() if k != "PYTHONPATH"}


def readme_steps(heading: str) -> list[str]:
    """The lines of the first ```sh block under `### heading` in the README."""
    section = README.read_text().split(f"\n### {heading}\n", 1)[1]
    block = section.split("```sh\n", 1)[1].split("\n```", 1)[0]
    return block.splitlines()


class TempRoot:
    """A directory standing for /, and the README's commands moved into it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        for system in ("opt", "etc/systemd/system", "var/lib", "usr/local/bin"):
            (directory / system).mkdir(parents=True)

    def __truediv__(self, path: str) -> Path:
        return self.directory / path.lstrip("/")

    def moved(self, text: str) -> str:
        """`text` with the system's paths in this root and `nobody` for `mailtickets`."""
        text = re.sub(
            r"(?<![\w.$/-])/(opt|etc|var/lib|usr/local/bin)/",
            lambda found: f"{self.directory}/{found[1]}/",
            text,
        )
        return text.replace("-o mailtickets", f"-o {USER}").replace("-g mailtickets", f"-g {GROUP}")

    def run(self, steps: list[str], cwd: Path) -> str:
        """Run each step in bash; returns what they printed."""
        printed = ""
        env = installed_environment(
            {
                "PATH": f"{self / '/usr/local/bin'}:{SYSTEM_PATH}",
                # Stands for the default search path's /etc/mailtickets/config.toml.
                "MAILTICKETS_CONFIG_PATH": str(self / "/etc/mailtickets/config.toml"),
            }
        )
        for step in steps:
            if step.startswith(NOT_RUN):
                continue
            done = subprocess.run(
                ["bash", "-c", f"set -euo pipefail\n{self.moved(step)}"],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert done.returncode == 0, f"{step}\n{done.stdout}\n{done.stderr}"
            printed += done.stdout
            self._move_config()
        return printed

    def _move_config(self) -> None:
        # The shipped config names /var/lib/mailtickets; in this root it means the root's.
        config = self / "/etc/mailtickets/config.toml"
        if config.exists():
            config.write_text(self.moved(config.read_text()))


@pytest.fixture
def root() -> Iterator[TempRoot]:
    require_root()
    # Reachable by nobody, who runs the venv's python when acting as the service user.
    with shared_directory("mailtickets-install-") as directory:
        yield TempRoot(directory)


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    """The directory holding a wheel built from this checkout, where the steps start."""
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", tmp_path],
        cwd=REPOSITORY,
        check=True,
        capture_output=True,
    )
    return tmp_path


@pytest.mark.slow
def test_the_readme_install_and_upgrade_steps_work_as_written(root: TempRoot, wheels: Path) -> None:
    printed = root.run(readme_steps("Install on Debian or Ubuntu"), cwd=wheels)

    config = root / "/etc/mailtickets/config.toml"
    assert f"{config}: ok (1 queue(s), 1 listener(s)" in printed
    assert f"at revision {migrate.head()}" in printed
    # The database was made by the service user; the key came from .env, so none was made.
    storage = root / "/var/lib/mailtickets"
    assert [path.name for path in storage.iterdir()] == ["mailtickets.db"]
    assert (storage / "mailtickets.db").owner() == USER
    secrets = root / "/etc/mailtickets/.env"
    assert re.fullmatch(r"MAILTICKETS_SECRET=[A-Za-z0-9_-]{43}\n", secrets.read_text())
    for private in (secrets, config):
        assert stat.S_IMODE(private.stat().st_mode) == 0o640
        assert private.group() == GROUP

    # The unit's Documentation= is installed with the package.
    unit = (root / "/etc/systemd/system/mailtickets.service").read_text()
    [documentation] = re.findall(r"^Documentation=file://(\S+)$", unit, re.MULTILINE)
    assert (root / documentation).is_file()

    # The venv's package, not the checkout, carries the migrations and templates.
    python = root / "/opt/mailtickets/bin/python"
    located = subprocess.run(
        [
            python,
            "-c",
            "from mailtickets.resources import resource_dir as r;"
            "print(r('migrations')); print(r('templates'))",
        ],
        cwd="/",
        env=installed_environment({}),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(path.startswith(str(root / "/opt/mailtickets/lib/")) for path in located)

    printed = root.run(readme_steps("Upgrade"), cwd=wheels)
    assert f"at revision {migrate.head()}" in printed
    [backup] = (root / "/var/lib").glob("mailtickets.*")
    assert (backup / "mailtickets.db").is_file()
