"""Schema migrations with Alembic, driven from code (no alembic.ini to keep beside the app)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

import mailtickets.db.models  # noqa: F401  (registers every table on Base.metadata)
from mailtickets.db.base import Base
from mailtickets.errors import DatabaseError, SchemaOutOfDate
from mailtickets.resources import resource_dir


def _config(**attributes: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.attributes.update(attributes)
    return config


def head() -> str:
    """The revision this version of mailtickets needs."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None, "migrations/ has no revision"
    return revision


def current(engine: Engine) -> str | None:
    """The revision the database is at, None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A transaction to migrate in. On SQLite, foreign keys are off meanwhile: a batch
    migration recreates a table, and dropping the old one would cascade-delete every row
    that refers to it. Integrity is checked before the commit instead."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        raw = connection.connection.dbapi_connection
        if sqlite and raw is not None:
            # The pragma is ignored inside a transaction, so it goes to the driver first.
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                broken = (
                    connection.exec_driver_sql("PRAGMA foreign_key_check").all() if sqlite else []
                )
                if broken:
                    raise DatabaseError(
                        f"migration left {len(broken)} broken reference(s): {broken[:5]}"
                    )
        finally:
            if sqlite and raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: Engine, revision: str = "head") -> None:
    with _migrating(engine) as connection:
        command.upgrade(_config(connection=connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with _migrating(engine) as connection:
        command.downgrade(_config(connection=connection), revision)


def drift(engine: Engine) -> list[str]:
    """What differs between the models and the migrated database; empty when they agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [repr(diff) for diff in compare_metadata(context, Base.metadata)]


def ensure_current(engine: Engine) -> None:
    """Raise `SchemaOutOfDate` unless the database is at head."""
    at, needed = current(engine), head()
    if at != needed:
        state = "empty" if at is None else f"at revision {at}"
        raise SchemaOutOfDate(
            f"the database is {state} but this version needs {needed}; "
            "run `mailtickets db upgrade` first"
        )
