"""Operator mistakes give one clear line on stderr, never a traceback."""

from __future__ import annotations

from pathlib import Path

from mailtickets.db import migrate
from tests.support.cli import SECRET, mailtickets


def _single_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    return lines[0]


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(
        '[database]\nurl = "postgresql+psycopg://nobody@127.0.0.1:1/none"\n'
        '[[queue]]\naddress = "s@a.example"\n'
    )
    shared = {"MAILTICKETS_SECRET": SECRET}
    result = mailtickets("--config", str(config), "db", "current", cwd=tmp_path, env=shared)
    assert result.returncode == 1
    line = _single_line(result.stderr)
    assert line.startswith("mailtickets: database error: ")
    assert "127.0.0.1" in line


def test_run_refuses_a_missing_database_and_creates_none(tmp_path: Path) -> None:
    result = mailtickets("run", cwd=tmp_path)
    assert result.returncode == 1
    assert _single_line(result.stderr) == (
        "mailtickets: var/mailtickets.db: no such database; "
        "run `mailtickets db upgrade` to create it"
    )
    assert list(tmp_path.iterdir()) == []


def test_run_refuses_an_out_of_date_schema(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "mailtickets.db").touch()
    result = mailtickets("run", cwd=tmp_path)
    assert result.returncode == 1
    assert _single_line(result.stderr) == (
        f"mailtickets: the database is empty but this version needs {migrate.head()}; "
        "run `mailtickets db upgrade` first"
    )


def test_bad_config_exits_2_listing_every_problem(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[[queue]]\naddress = "x"\n[[smtp]]\nport = "25"\n')
    result = mailtickets("--config", str(config), "run", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"mailtickets: [queue.x] address: must be a mail address such as support@example.com, "
        f'got "x" ({config})',
        f'mailtickets: [smtp.1] port: must be an integer 1-65535, got "25" ({config})',
    ]


def test_missing_env_file_is_named(tmp_path: Path) -> None:
    result = mailtickets("--env-file", str(tmp_path / "gone.env"), "check-config", cwd=tmp_path)
    assert result.returncode == 2
    assert _single_line(result.stderr) == (
        f"mailtickets: {tmp_path / 'gone.env'}: cannot read the env file: no such file"
    )


def test_a_shared_database_needs_a_shared_secret(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(
        '[database]\nurl = "postgresql+psycopg://db.example/mt"\n'
        '[[queue]]\naddress = "s@a.example"\n'
    )
    result = mailtickets("--config", str(config), "check-config", cwd=tmp_path)
    assert result.returncode == 2
    assert _single_line(result.stderr) == (
        "mailtickets: [tickets] secret_env: environment variable MAILTICKETS_SECRET must be set "
        f"with a shared database ({config})"
    )
