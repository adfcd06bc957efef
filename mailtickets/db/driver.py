"""Reads written for the DB-API driver itself, for a command that starts, reads once and ends.

Importing SQLAlchemy takes longer than `tickets list` may take in all, so a plain SQLite file
is opened with the standard library's `sqlite3`; any other database is reached through its
SQLAlchemy session, whose driver then runs the same statement. Two things differ between the
drivers and a `Driver` says how: placeholders, and timestamps (SQLite keeps SQLAlchemy's text
form in UTC, PostgreSQL a typed value).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailtickets.db.revision import READ_VERSION, VERSION_TABLE, require_head
from mailtickets.errors import DatabaseError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15_000

Rows = Callable[[str, Mapping[str, Any]], Iterable[Sequence[Any]]]


@dataclass(frozen=True)
class Driver:
    """Statements through one DB-API connection: `rows(sql, parameters)`."""

    rows: Rows
    sqlite: bool

    def param(self, name: str) -> str:
        """The placeholder of the parameter `name` in a statement."""
        return f":{name}" if self.sqlite else f"%({name})s"

    def timestamp_param(self, value: datetime) -> object:
        """`value` as a timestamp column holds it, for comparing with one."""
        if self.sqlite:
            return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"
        return value


def timestamp(value: datetime | str) -> datetime:
    """A timestamp column's value, timezone-aware in UTC as the models give it."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def no_such_database(path: Path) -> DatabaseError:
    return DatabaseError(f"{path}: no such database; run `mailtickets db upgrade` to create it")


@contextmanager
def open_sqlite(path: Path) -> Iterator[Driver]:
    """The SQLite file at `path`, which must exist and be at the head revision."""
    if not path.is_file():
        raise no_such_database(path)
    with closing(sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)) as connection:
        has_version = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (VERSION_TABLE,)
        ).fetchone()
        require_head(connection.execute(READ_VERSION).fetchone()[0] if has_version else None)
        yield Driver(connection.execute, sqlite=True)


def of_session(session: Session) -> Driver:
    """The driver under `session`'s connection (the transaction it is in)."""
    connection = session.connection()
    return Driver(connection.exec_driver_sql, sqlite=connection.dialect.name == "sqlite")


@contextmanager
def in_session(sessions: sessionmaker[Session]) -> Iterator[Driver]:
    """The driver under a new session of `sessions`, for as long as the session lasts."""
    with sessions() as session:
        yield of_session(session)
