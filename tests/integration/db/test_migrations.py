"""Migrations: empty → head with no drift, down to base and up again, on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from mailtickets.db import files, migrate
from mailtickets.db.base import make_engine, session_factory
from mailtickets.db.models import Attachment, InboundMessage
from mailtickets.errors import SchemaOutOfDate
from tests.support.cli import SECRET, mailtickets

# Instances sharing a PostgreSQL database must share the signing key (see config checks).
SHARED = {"MAILTICKETS_SECRET": SECRET}


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
    upgraded = mailtickets("--config", config, "db", "upgrade", cwd=tmp_path, env=SHARED)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"at revision {migrate.head()}" in upgraded.stdout
    checked = mailtickets("--config", config, "db", "check", cwd=tmp_path, env=SHARED)
    assert checked.returncode == 0, checked.stderr
    assert "no differences" in checked.stdout

    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_event_ticket_id"))
    engine.dispose()
    drifted = mailtickets("--config", config, "db", "check", cwd=tmp_path, env=SHARED)
    assert drifted.returncode == 1
    assert "ix_event_ticket_id" in drifted.stdout
    assert "differs from the models in 1 place(s)" in drifted.stderr


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


# One row in every table that refers to the ticket, as a first release would have left them.
_ROWS_AT_0001 = [
    "INSERT INTO queue (id, address, name, locale) VALUES (1, 's@a.example', 'S', 'en')",
    "INSERT INTO agent (id, address, name, role, active) VALUES (1, 'a@a.example', 'A', 'agent',"
    " true)",
    "INSERT INTO contact (id, address, created_at, updated_at) VALUES (1, 'c@example.com', :t, :t)",
    "INSERT INTO ticket (id, queue_id, contact_id, assignee_id, subject, status, priority,"
    " created_at, updated_at) VALUES (1, 1, 1, 1, 'subject', 'open', 'normal', :t, :t)",
    "INSERT INTO participant (ticket_id, contact_id, role, added_at)"
    " VALUES (1, 1, 'requester', :t)",
    "INSERT INTO event (ticket_id, at, kind, data) VALUES (1, :t, 'created', '{}')",
    "INSERT INTO inbound_message (id, source, source_key, sha256, raw, rcpt_to, received_at,"
    " status, attempts, next_attempt_at, ticket_id) VALUES (1, 'smtp', 'k', 'h', :raw, '[]', :t,"
    " 'done', 1, :t, 1)",
    "INSERT INTO message (id, ticket_id, message_id, direction, kind, subject, received_at,"
    " body_text, new_text, inbound_id)"
    " VALUES (1, 1, 'm@x', 'in', 'customer', 's', :t, 'b', 'b', 1)",
    "INSERT INTO attachment (message_id, filename, content_type, size, sha256, inline, content)"
    " VALUES (1, 'f.txt', 'text/plain', 1, 'h', false, :raw)",
    "INSERT INTO outbound_message (ticket_id, template, locale, recipients, context, message_id,"
    " status, attempts, next_attempt_at, created_at) VALUES (1, 'customer/acknowledgement', 'en',"
    " '[]', '{}', 'o@x', 'pending', 0, :t, :t)",
]
_CHILD_TABLES = (
    "ticket",
    "participant",
    "event",
    "inbound_message",
    "message",
    "attachment",
    "outbound_message",
)


def test_upgrades_keep_every_row(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine, "0001")
    with engine.begin() as connection:
        for statement in _ROWS_AT_0001:
            connection.execute(text(statement), {"t": "2026-11-01 10:00:00+00:00", "raw": b"x"})
    migrate.upgrade(engine)
    with engine.connect() as connection:
        counts = {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
            for table in _CHILD_TABLES
        }
    engine.dispose()
    assert counts == dict.fromkeys(_CHILD_TABLES, 1)


def test_upgrade_moves_file_and_raw_mail_bytes_to_their_own_rows(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine, "0001")
    with engine.begin() as connection:
        for statement in _ROWS_AT_0001:
            connection.execute(text(statement), {"t": "2026-11-01 10:00:00+00:00", "raw": b"x"})
    migrate.upgrade(engine)
    with session_factory(engine)() as session:
        intake = session.scalars(select(InboundMessage)).one()
        attachment = session.scalars(select(Attachment)).one()
        assert intake.raw == b"x"
        assert files.read(session, [attachment.id]) == {attachment.id: b"x"}
    engine.dispose()
