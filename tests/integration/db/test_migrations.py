"""Migrations: empty → head with no drift, down to base and up again, on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from mailtickets.db import migrate
from mailtickets.db.base import make_engine
from mailtickets.errors import SchemaOutOfDate
from tests.support.cli import mailtickets


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(f'[database]\nurl = "{url}"\n[[queue]]\naddress = "s@a.example"\n')
    return path


def test_upgrade_downgrade_upgrade_without_drift(database_url: str) -> None:
    engine = make_engine(database_url)
    with pytest.raises(SchemaOutOfDate, match="the database is empty"):
        migrate.ensure_current(engine)
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    assert migrate.drift(engine) == []
    migrate.downgrade(engine, "base")
    assert migrate.current(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert migrate.drift(engine) == []
    migrate.ensure_current(engine)
    engine.dispose()


def test_db_commands_report_and_detect_drift(database_url: str, tmp_path: Path) -> None:
    config = str(_config(tmp_path, database_url))
    upgraded = mailtickets("--config", config, "db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"at revision {migrate.head()}" in upgraded.stdout
    checked = mailtickets("--config", config, "db", "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "no differences" in checked.stdout

    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_event_ticket_id"))
    engine.dispose()
    drifted = mailtickets("--config", config, "db", "check", cwd=tmp_path)
    assert drifted.returncode == 1
    assert "ix_event_ticket_id" in drifted.stdout
    assert "differs from the models in 1 place(s)" in drifted.stderr


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
