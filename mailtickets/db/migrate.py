"""Schema migrations with Alembic, driven from code (no alembic.ini to keep beside the app)."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

import mailtickets.db.models  # noqa: F401  (registers every table on Base.metadata)
from mailtickets.db.base import Base
from mailtickets.errors import SchemaOutOfDate
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


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(_config(connection=connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
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
