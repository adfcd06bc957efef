"""Large values written and read in pieces where the database allows it.

Binding a 36 MB value costs SQLite two copies of it (the bound value and the record built
from it), and so does selecting it. Through SQLite's incremental blob I/O they cost none and
one: a row is inserted with a zeroblob of the right size (free when the value is the row's
last column), each piece is written straight to the database pages, and a read fills one
bytes object. Other databases are given and give the value whole.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from mailtickets.mail.spans import InMemory, Source


def in_pieces(session: Session) -> bool:
    """Whether this session's database takes a value written in pieces (SQLite)."""
    return session.get_bind().dialect.name == "sqlite"


def placeholder(session: Session, pieces: Sequence[bytes | bytearray]) -> Any:
    """What to insert first: a zeroblob to `fill` when writing in pieces, else the value."""
    if in_pieces(session):
        return func.zeroblob(sum(len(piece) for piece in pieces))
    return b"".join(pieces)


def fill(
    session: Session, table: str, column: str, row_id: int, pieces: Sequence[bytes | bytearray]
) -> None:
    """Write `pieces` into the zeroblob of row `row_id` (a no-op where it was stored whole)."""
    if not in_pieces(session):
        return
    with _connection(session).blobopen(table, column, row_id) as blob:
        for piece in pieces:
            blob.write(piece)


def read(
    session: Session, value: InstrumentedAttribute[bytes], key: InstrumentedAttribute[int], row: int
) -> bytes | None:
    """Column `value` of the row whose integer primary key `key` is `row`; None if none."""
    if not in_pieces(session):
        return session.scalar(select(value).where(key == row))
    try:
        with _connection(session).blobopen(
            value.class_.__tablename__, value.key, row, readonly=True
        ) as blob:
            return bytes(blob.read())
    except sqlite3.OperationalError as exc:
        if "no such rowid" in str(exc):
            return None
        raise


def reader(
    session: Session, value: InstrumentedAttribute[bytes], key: InstrumentedAttribute[int], row: int
) -> Source | None:
    """Column `value` of row `row` (as for `read`) to read by byte range while `session`
    lasts; None if there is no such row."""
    if not in_pieces(session):
        whole = read(session, value, key, row)
        return None if whole is None else InMemory(whole)
    table = value.class_.__tablename__
    try:
        with _connection(session).blobopen(table, value.key, row, readonly=True) as blob:
            size = len(blob)
    except sqlite3.OperationalError as exc:
        if "no such rowid" in str(exc):
            return None
        raise
    return _BlobRanges(session, table, value.key, row, size)


@dataclass(frozen=True)
class _BlobRanges:
    """A SQLite value read through a blob handle opened for each range: a handle does not
    outlive a change to its row, and the worker writes other rows between two reads."""

    session: Session
    table: str
    column: str
    row: int
    size: int

    def read(self, start: int, end: int) -> bytes:
        start, end = max(start, 0), min(end, self.size)
        if start >= end:
            return b""
        with _connection(self.session).blobopen(
            self.table, self.column, self.row, readonly=True
        ) as blob:
            blob.seek(start)
            return bytes(blob.read(end - start))


def _connection(session: Session) -> Any:
    connection = session.connection().connection.driver_connection
    assert connection is not None
    return connection
