"""The schema revision this version needs, and the refusal of a database at another one.

Apart from `migrate`, which imports Alembic's and SQLAlchemy's machinery: a command that reads
through the driver alone (`driver`) checks the revision without importing either.
"""

from __future__ import annotations

from mailtickets.errors import SchemaOutOfDate
from mailtickets.resources import resource_dir

#: Alembic's table of the revision a database is at.
VERSION_TABLE = "alembic_version"
#: The revision a database is at, given that it has `VERSION_TABLE`.
READ_VERSION = f"SELECT version_num FROM {VERSION_TABLE}"  # noqa: S608  (fixed name)


def head() -> str:
    """The revision this version of mailtickets needs: the number the last migration's file
    name starts with (each revision is its file's number, one after its down revision; a
    test holds the files to that and to Alembic's own reading)."""
    versions = resource_dir("migrations") / "versions"
    numbers = [path.name[:4] for path in versions.glob("[0-9][0-9][0-9][0-9]_*.py")]
    assert numbers, f"{versions} has no revision"
    return max(numbers)


def require_head(at: str | None) -> None:
    """Raise `SchemaOutOfDate` unless `at`, the database's revision (None when empty), is
    the head."""
    needed = head()
    if at != needed:
        state = "empty" if at is None else f"at revision {at}"
        raise SchemaOutOfDate(
            f"the database is {state} but this version needs {needed}; "
            "run `mailtickets db upgrade` first"
        )
