"""An installed wheel, not only the source tree, carries its templates and migrations."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
def test_wheel_installs_and_migrates_in_a_fresh_venv(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", tmp_path / "dist"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("mailtickets-*.whl")
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True
    )
    work = tmp_path / "work"
    work.mkdir()
    upgraded = subprocess.run(
        [tmp_path / "venv" / "bin" / "mailtickets", "db", "upgrade"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    assert (work / "var" / "mailtickets.db").is_file()
    located = subprocess.run(
        [
            python,
            "-c",
            "from mailtickets.resources import resource_dir as r;"
            "print(r('migrations')); print(r('templates'))",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all("site-packages" in path for path in located), located
