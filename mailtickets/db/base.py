"""Engine, sessions and the declarative base shared by every model.

SQLite is the embedded default (WAL, foreign keys, a busy timeout so the SMTP edge and the
worker can write from different threads); PostgreSQL is reached by URL. Timestamps are stored
in UTC and always come back timezone-aware, whatever the engine.
"""

from __future__ import annotations

import enum
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Dialect, Enum, MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from mailtickets.db.driver import SQLITE_BUSY_TIMEOUT_MS, no_such_database

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every engine (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the database; pass UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def string_enum(kind: type[enum.Enum]) -> Enum:
    """A column type storing an enum's values as plain strings.

    Readable in SQL and free of native enum types, whose migrations are painful on PostgreSQL.
    """
    return Enum(kind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


def make_engine(
    url: str, *, create: bool = True, busy_timeout: float = SQLITE_BUSY_TIMEOUT_MS / 1000
) -> Engine:
    """An engine for `url`; for a SQLite file, WAL is switched on.

    With `create`, a SQLite file that does not exist is made, and its folder; without, its
    absence is a `DatabaseError` naming it, so that commands that only read leave nothing.
    `busy_timeout` (seconds): how long a SQLite writer waits for the others.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.is_file():
            raise no_such_database(path)
    engine = create_engine(url, connect_args={"timeout": busy_timeout})
    event.listen(engine, "connect", _sqlite_pragmas)
    writers = WriterQueue(busy_timeout)
    event.listen(engine, "begin", writers.begin)
    event.listen(engine, "checkin", writers.checkin)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class WriterQueue:
    """Hands SQLite's write lock from one of this process's threads to the next at once.

    Every transaction takes the write lock at BEGIN (BEGIN IMMEDIATE: a deferred transaction
    that reads then writes can fail with "database is locked" at once instead of waiting
    out the busy timeout). SQLite lets a blocked writer poll, sleeping up to 100 ms between
    tries, so the intake, the worker and the sender spent much of their time asleep while
    the lock was free. Here the process's writers wait in a queue of their own, woken as soon
    as the one before them gives its connection back; other processes (the command line,
    other instances) still meet SQLite's busy timeout.
    """

    _KEY = "mailtickets_writer"

    def __init__(self, timeout: float) -> None:
        self._lock = threading.Lock()
        self._timeout = timeout
        #: The thread holding the lock: its second connection must not wait for itself.
        self._owner: int | None = None

    def begin(self, connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            # A reader (WAL) sees the last commit and neither waits for writers nor holds
            # them up.
            connection.exec_driver_sql("BEGIN")
            return
        me = threading.get_ident()
        # A thread that already writes on another connection waits on SQLite, as before.
        queued = self._owner != me and self._lock.acquire(timeout=self._timeout)
        if queued:
            self._owner = me
            connection.info[self._KEY] = True
        elif self._owner != me:
            # Past the timeout SQLite decides (and most likely says the database is locked).
            log.warning(
                "a transaction waited %.0fs for this process's other writers to the database",
                self._timeout,
            )
        # A BEGIN that fails gives its connection back too, and with it the turn.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    def checkin(self, _dbapi_connection: Any, record: Any) -> None:
        """The connection is back in the pool, its transaction committed or rolled back."""
        if record.info.pop(self._KEY, False):
            self._owner = None
            self._lock.release()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


#: The execution option of a session that only reads (`reading`).
READ_ONLY = "mailtickets_read_only"


def reading(sessions: sessionmaker[Session]) -> Session:
    """A session for reads only. On SQLite it begins a deferred transaction, outside the
    writers' queue: it takes no write lock, and a write in it could fail at once with
    "database is locked", so it must not write."""
    return sessions(execution_options={READ_ONLY: True})
