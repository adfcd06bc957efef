"""Schema migrations with Alembic, driven from code (no alembic.ini to keep beside the app).

Every command checks that the database is at the revision it needs; few migrate. So the check
reads the revision without Alembic (the `alembic_version` table, and the migration files'
names), and only the functions that migrate or compare import it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

import mailtickets.db.models  # noqa: F401  (registers every table on Base.metadata)
from mailtickets.db.base import Base, make_engine, session_factory
from mailtickets.db.revision import READ_VERSION, VERSION_TABLE, require_head
from mailtickets.db.revision import head as head  # what `db current` and tests compare with
from mailtickets.errors import DatabaseError
from mailtickets.resources import resource_dir

if TYPE_CHECKING:
    from alembic.config import Config


def _config(**attributes: Any) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.attributes.update(attributes)
    return config


def current(engine: Engine) -> str | None:
    """The revision the database is at, None for an empty database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        return connection.execute(text(READ_VERSION)).scalar()


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
    from alembic import command

    with _migrating(engine) as connection:
        command.upgrade(_config(connection=connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with _migrating(engine) as connection:
        command.downgrade(_config(connection=connection), revision)


def drift(engine: Engine) -> list[str]:
    """What differs between the models and the migrated database; empty when they agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [repr(diff) for diff in compare_metadata(context, Base.metadata)]


def ensure_current(engine: Engine) -> None:
    """Raise `SchemaOutOfDate` unless the database is at head."""
    require_head(current(engine))


def open_current(url: str) -> sessionmaker[Session]:
    """Sessions on the database at `url`, which must exist and be at head; nothing else.

    For the commands that need no more: storing a piped message needs neither the signing
    key nor templates (so their faults cannot make an MTA hold mail), listing tickets neither.
    """
    engine = make_engine(url, create=False)
    ensure_current(engine)
    return session_factory(engine)
