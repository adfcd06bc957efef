"""The plain SQLite URL is read and written as SQLAlchemy's `make_url` does it, which the
config and `tickets list` do without importing SQLAlchemy; any other URL is left to it."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from mailtickets.config.database_url import sqlite_file, sqlite_url

FILES = ["var/mt.db", "/srv/a b/mt.db", "/srv/x@y:z#1.db", "/srv/100%/mt.db", "/srv/ü+ä.db"]


@pytest.mark.parametrize("file", FILES)
def test_a_plain_sqlite_url_is_read_and_written_as_sqlalchemy_does(file: str) -> None:
    written = sqlite_url(file)
    assert written == make_url("sqlite:///x").set(database=file).render_as_string(False)
    assert sqlite_file(written) == make_url(written).database == file


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///",
        "sqlite:///:memory:",
        "sqlite:///var/mt.db?timeout=30",
        "sqlite+pysqlite:///var/mt.db",
        "postgresql+psycopg://root@127.0.0.1:5432/test",
    ],
)
def test_any_other_url_is_left_to_sqlalchemy(url: str) -> None:
    assert sqlite_file(url) is None
