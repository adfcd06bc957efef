"""`mailtickets contacts …`: what the helpdesk knows of a customer."""

from __future__ import annotations

import json
from typing import Any

import click

from mailtickets.cli import CliContext
from mailtickets.services import contacts
from mailtickets.services.history import contact_history


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


# --- history ------------------------------------------------------------------------------


@contacts_group.command()
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(cli: CliContext, address: str, as_json: bool) -> None:
    """A customer's tickets, open ones, median first-response time and ratings."""
    app = cli.app()
    with app.sessions() as session:
        history = contact_history(session, address)
    if as_json:
        click.echo(json.dumps(history, indent=2, ensure_ascii=False))
        return
    _print_history(history)


def _print_history(history: dict[str, Any]) -> None:
    name = history["name"]
    click.echo(f"{name} <{history['address']}>" if name else history["address"])
    click.echo(f"customer since {history['since'][:10]}, language {history['locale'] or '-'}")
    if history["suppressed"]:
        click.echo(f"automatic mail suppressed: {history['suppressed']}")
    median = history["median_first_response_minutes"]
    average = history["average_rating"]
    click.echo(
        f"{len(history['tickets'])} tickets, {history['open']} open; median first response "
        f"{'-' if median is None else f'{median} min'}; average rating "
        f"{'-' if average is None else f'{average}/5'} ({len(history['ratings'])} ratings)"
    )
    for ticket in history["tickets"]:
        rated = f"  rated {ticket['rating']}/5" if ticket["rating"] else ""
        click.echo(
            f"  #{ticket['id']:<6} {ticket['status']:<9} {ticket['created_at'][:10]}  "
            f"{ticket['queue']:<28} {ticket['subject']}{rated}"
        )
    for rating in history["ratings"]:
        if rating["comment"]:
            click.echo(f"  #{rating['ticket']} {rating['rating']}/5: {rating['comment']}")


COMMANDS = [contacts_group]
