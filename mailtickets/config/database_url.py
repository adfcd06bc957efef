"""The plain SQLite URL, `sqlite:///FILE`, read and written as SQLAlchemy's `make_url` does
it, without importing SQLAlchemy: that takes longer than a short command may take in all.
Any other URL is left to `make_url`."""

from __future__ import annotations

from urllib.parse import quote, unquote

PLAIN_SQLITE = "sqlite:///"


def sqlite_file(url: str) -> str | None:
    """The file of a plain SQLite URL (nothing after the file, no `?` options); None for any
    other URL and for an in-memory database."""
    if not url.startswith(PLAIN_SQLITE) or "?" in url:
        return None
    database = unquote(url.removeprefix(PLAIN_SQLITE))
    return None if database in ("", ":memory:") else database


def sqlite_url(file: str) -> str:
    """The plain SQLite URL of `file`."""
    return PLAIN_SQLITE + quote(file, safe=" +/")
