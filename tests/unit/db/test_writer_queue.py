"""The writers of one process take SQLite's write lock in turn (`db.base.WriterQueue`), on a
real database file: none is lost or blocked for good, a failed BEGIN frees the turn, and a
thread's second connection is not queued behind its own first."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from mailtickets.db.base import make_engine, reading, session_factory

WAITED = "waited"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'writers.db'}", busy_timeout=0.3)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
    return engine


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT n FROM counter")).scalar_one())


def test_writers_of_one_process_take_turns(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    sessions = session_factory(engine)
    failures: list[BaseException] = []

    def increment(times: int) -> None:
        try:
            for _ in range(times):
                with sessions.begin() as session:
                    # Read, then write: only a transaction holding the lock from its BEGIN
                    # keeps every increment.
                    n = session.execute(text("SELECT n FROM counter")).scalar_one()
                    session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            failures.append(exc)

    threads = [threading.Thread(target=increment, args=(50,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert _count(engine) == 200
    assert WAITED not in caplog.text


def test_a_begin_that_fails_frees_the_turn(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sessions = session_factory(engine)
    # Another process (the command line, say) holds the write lock past the busy timeout.
    other = sqlite3.connect(tmp_path / "writers.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    refused: list[BaseException] = []

    def write() -> None:
        try:
            with sessions.begin() as session:
                session.execute(text("UPDATE counter SET n = n + 1"))
        except OperationalError as exc:
            refused.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join()
    other.rollback()
    other.close()

    assert len(refused) == 1 and "locked" in str(refused[0])
    # The next writer of this process finds its turn free at once.
    with caplog.at_level(logging.WARNING), sessions.begin() as session:
        session.execute(text("UPDATE counter SET n = n + 1"))
    assert WAITED not in caplog.text
    assert _count(engine) == 1


def test_a_second_connection_of_one_thread_meets_sqlite_not_itself(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    sessions = session_factory(engine)
    with caplog.at_level(logging.WARNING), sessions.begin() as first:
        first.execute(text("UPDATE counter SET n = n + 1"))
        # As before the queue: the second transaction is refused by SQLite's busy timeout.
        with pytest.raises(OperationalError, match="locked"), sessions.begin() as second:
            second.execute(text("UPDATE counter SET n = n + 10"))
    assert WAITED not in caplog.text
    assert _count(engine) == 1


def test_a_reader_neither_waits_for_a_writer_nor_sees_what_it_has_not_committed(
    engine: Engine,
) -> None:
    sessions = session_factory(engine)
    seen: list[int] = []

    def read() -> None:
        with reading(sessions) as session:
            seen.append(session.execute(text("SELECT n FROM counter")).scalar_one())

    with sessions.begin() as writer:
        writer.execute(text("UPDATE counter SET n = 5"))
        reader = threading.Thread(target=read)
        reader.start()
        # A reader in the writers' queue would wait for this transaction to end.
        reader.join(timeout=10)
        assert not reader.is_alive()
    assert seen == [0]
    assert _count(engine) == 5
