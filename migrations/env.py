"""Alembic environment: runs on the connection `mailtickets.db.migrate` hands over."""

from alembic import context

from mailtickets.db.base import Base
import mailtickets.db.models  # noqa: F401  (registers every table on Base.metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
