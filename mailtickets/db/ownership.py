"""Which instance does a duty that must have one doer: the SLA sweep, reading an IMAP folder.

Work rows (intake, outbox) are shared out by `SKIP LOCKED` leases; a duty cannot be split
that way, so one instance owns it at a time. On PostgreSQL, owning a duty is holding a
session-level advisory lock named after it, on one connection the instance keeps for that
alone. The server drops the locks when that connection ends, so a stopped, killed or cut-off
instance gives its duties up without saying so, and the instances that keep asking
(`claim`, every few seconds) take them over. Correctness never rests on the lock alone:
intake is idempotent per source key and notices are unique per due time, so the moment in
which a lost lock is not yet noticed can repeat a read, never a ticket or a mail.

On SQLite one instance serves a database file (`single_instance` refuses a second one), so
that instance owns every duty.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import secrets
import socket
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from mailtickets.errors import DatabaseError

log = logging.getLogger(__name__)

#: The duty of the periodic jobs: SLA sweep, auto-close, digest.
SCHEDULER = "scheduler"


def imap_folder(mailbox: str, folder: str) -> str:
    """The duty of reading one folder of one `[[imap]]` mailbox."""
    return f"imap:{mailbox}/{folder}"


class Duties(Protocol):
    """What an instance may ask about duties and other instances; safe from any thread."""

    #: This instance, as leases (`db.lease`), `pg_stat_activity` and `status` name it.
    name: str

    def start(self) -> None:
        """Be seen alive by other instances from now on, before taking any lease."""
        ...

    def alive(self, names: Collection[str]) -> set[str]:
        """Which of the instances `names` are running now."""
        ...

    def claim(self, duty: str) -> bool:
        """True when this instance owns `duty` now (taking it if nobody does)."""
        ...

    def close(self) -> None:
        """Give every duty up."""
        ...


class SoleInstance:
    """Every duty is ours: the one instance on a SQLite file.

    No other instance can be running (`single_instance` holds the file's lock), so any other
    name is that of an instance that has stopped.
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name or instance_name()

    def start(self) -> None:
        pass

    def alive(self, names: Collection[str]) -> set[str]:
        return {self.name} & set(names)

    def claim(self, duty: str) -> bool:
        return True

    def close(self) -> None:
        pass


def lock_key(duty: str) -> int:
    """The advisory lock's 64-bit key for `duty`: stable across instances and versions."""
    digest = hashlib.blake2b(f"mailtickets:{duty}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def instance_name() -> str:
    """A new name for this instance: host, pid and a random tag, so that a successor that
    gets the same pid (a container's pid 1) is never taken for its dead predecessor.

    At most 63 characters, PostgreSQL's limit for an application_name.
    """
    suffix = f":{os.getpid()}.{secrets.token_hex(3)}"
    prefix = "mailtickets@"
    return f"{prefix}{socket.gethostname()[: 63 - len(prefix) - len(suffix)]}{suffix}"


def _identity(name: str) -> int:
    """The advisory lock an instance holds for as long as it runs."""
    return lock_key(f"instance:{name}")


class AdvisoryLocks:
    """Duties owned through PostgreSQL session-level advisory locks on one connection.

    The same connection holds the instance's identity lock, so that others can tell a
    running instance from one whose session is gone (`alive`).
    """

    def __init__(self, engine: Engine, name: str | None = None) -> None:
        self._engine = engine
        self.name = self._name = name or instance_name()
        self._mutex = threading.Lock()
        self._connection: Connection | None = None
        self._held: set[str] = set()

    def claim(self, duty: str) -> bool:
        with self._mutex:
            try:
                return self._claim(duty)
            except SQLAlchemyError as exc:
                # The locks went with the connection; whoever asks next may own them.
                self._drop(f"lock connection lost: {str(exc).splitlines()[0]}")
                return False

    def start(self) -> None:
        with self._mutex:
            self._connect()

    def alive(self, names: Collection[str]) -> set[str]:
        wanted = {_identity(name): name for name in names}
        if not wanted:
            return set()
        with self._engine.connect() as connection:
            held = connection.execute(
                text(
                    "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks"
                    " WHERE locktype = 'advisory' AND granted AND objsubid = 1"
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                    " AND ((classid::bigint << 32) | objid::bigint) = ANY(:keys)"
                ),
                {"keys": list(wanted)},
            ).scalars()
            return {wanted[int(key)] for key in held}

    def close(self) -> None:
        with self._mutex:
            if self._connection is not None:
                # A connection already gone took its locks with it.
                with suppress(SQLAlchemyError):
                    self._connection.execute(text("SELECT pg_advisory_unlock_all()"))
            self._drop(None)

    def _claim(self, duty: str) -> bool:
        connection = self._connect()
        if duty in self._held:
            # Still ours only while the session lives: ask it something.
            connection.execute(text("SELECT 1"))
            return True
        taken = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(duty)}
        ).scalar_one()
        if taken:
            self._held.add(duty)
            log.info("%s: this instance now owns %s", self._name, duty)
        return bool(taken)

    def _connect(self) -> Connection:
        if self._connection is None:
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(
                text("SELECT set_config('application_name', :name, false)"), {"name": self._name}
            )
            # Nobody else takes this lock: it only says that this session, and so this
            # instance, is alive.
            connection.execute(
                text("SELECT pg_advisory_lock(:key)"), {"key": _identity(self._name)}
            )
            self._connection = connection
        return self._connection

    def _drop(self, reason: str | None) -> None:
        if self._held and reason is not None:
            log.warning("%s: gave up %s: %s", self._name, ", ".join(sorted(self._held)), reason)
        self._held.clear()
        if self._connection is not None:
            # Never back into the pool: a pooled connection must not carry our locks.
            self._connection.invalidate()
            self._connection.close()
            self._connection = None


def duties_for(engine: Engine) -> Duties:
    if engine.dialect.name == "postgresql":
        return AdvisoryLocks(engine)
    return SoleInstance()


def owners(connection: Connection, duties: list[str]) -> dict[str, str]:
    """Which instance owns each of `duties` now (PostgreSQL; empty elsewhere)."""
    if connection.dialect.name != "postgresql":
        return {}
    rows = connection.execute(
        text(
            "SELECT (l.classid::bigint << 32) | l.objid::bigint AS key, a.application_name"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
    ).all()
    # The shift wraps like the key was split: the signed key comes back whole.
    by_key = {int(key): name for key, name in rows}
    return {duty: by_key[lock_key(duty)] for duty in duties if lock_key(duty) in by_key}


@contextmanager
def single_instance(url: str) -> Iterator[None]:
    """Hold the instance lock of a SQLite file for the daemon's life; refuse when taken.

    Two daemons on one SQLite file would both run the sweep and read the same mailboxes,
    and contend for its one write lock; several instances are what PostgreSQL is for. The
    lock is the kernel's (flock), so a killed daemon never leaves a stale one behind.
    """
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        yield
        return
    path = Path(f"{database}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise DatabaseError(
                f"another mailtickets instance ({holder}) is running on {database}; "
                "SQLite serves one instance per database file, run several on PostgreSQL"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
