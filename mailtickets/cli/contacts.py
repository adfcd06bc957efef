"""`mailtickets contacts …`: what the helpdesk knows of a customer."""

from __future__ import annotations

import click

from mailtickets.cli import CliContext
from mailtickets.services import contacts


@click.group("contacts")
def contacts_group() -> None:
    """Customers: their history, their data and their delivery records."""


@contacts_group.command()
@click.argument("address")
@click.pass_obj
def unsuppress(cli: CliContext, address: str) -> None:
    """Allow automatic mail to ADDRESS again after bounces."""
    app = cli.app()
    with app.sessions.begin() as session:
        contacts.unsuppress(session, address, app.clock.now())
    click.echo(f"{address}: automatic mail allowed again")


COMMANDS = [contacts_group]
