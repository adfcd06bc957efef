"""`mailtickets db …`: create, upgrade and check the database schema.

`db upgrade` is the setup command: it alone creates the database, the storage directory and
the generated signing key; the others fail in one line when the database does not exist.
"""

from __future__ import annotations

import click
from sqlalchemy.engine import Engine, make_url

from mailtickets.cli import CliContext, fail
from mailtickets.db import migrate
from mailtickets.db.base import make_engine
from mailtickets.keyfile import load_or_create_key
from mailtickets.storage import make_storage


@click.group("db")
def db() -> None:
    """Database schema: upgrade, current, check."""


def _engine(cli: CliContext) -> Engine:
    return make_engine(cli.settings_as_owner().database.url, create=False)


def _shown_url(cli: CliContext) -> str:
    return make_url(cli.settings().database.url).render_as_string(hide_password=True)


@db.command()
@click.argument("revision", default="head")
@click.pass_obj
def upgrade(cli: CliContext, revision: str) -> None:
    """Create or upgrade the schema to REVISION (default: head)."""
    settings = cli.settings_as_owner()
    make_storage(settings.storage.dir)
    engine = make_engine(settings.database.url)
    migrate.upgrade(engine, revision)
    if settings.tickets.secret is None:
        # Made now, by the user the daemon runs as, rather than by whichever command first
        # needs it.
        load_or_create_key(settings.storage.dir)
    click.echo(f"{_shown_url(cli)}: at revision {migrate.current(engine)}")


@db.command()
@click.argument("revision")
@click.pass_obj
def downgrade(cli: CliContext, revision: str) -> None:
    """Downgrade the schema to REVISION ("base" removes every table)."""
    engine = _engine(cli)
    migrate.downgrade(engine, revision)
    click.echo(f"{_shown_url(cli)}: at revision {migrate.current(engine) or 'base'}")


@db.command()
@click.pass_obj
def current(cli: CliContext) -> None:
    """Print the schema revision of the database and the one this version needs."""
    at = migrate.current(_engine(cli))
    click.echo(f"current: {at or 'none (empty database)'}\nneeded:  {migrate.head()}")


@db.command()
@click.pass_obj
def check(cli: CliContext) -> None:
    """Exit non-zero when the database is not at head or differs from the models."""
    engine = _engine(cli)
    migrate.ensure_current(engine)
    differences = migrate.drift(engine)
    for difference in differences:
        click.echo(difference)
    if differences:
        fail(f"the schema differs from the models in {len(differences)} place(s)")
    click.echo(f"{_shown_url(cli)}: schema at {migrate.head()}, no differences")


COMMANDS = [db]
