"""`mailtickets tickets list|show`: tickets at a glance, or one whole, as text or JSON."""

from __future__ import annotations

import json
from typing import Any

import click

from mailtickets.cli import CliContext
from mailtickets.db.models import TicketStatus
from mailtickets.services.views import list_tickets, show_ticket


@click.group("tickets")
def tickets() -> None:
    """List and show tickets."""


def _json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


@tickets.command("list")
@click.option("--status", type=click.Choice([s.value for s in TicketStatus]))
@click.option("--queue", help="Queue address or name.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_(cli: CliContext, status: str | None, queue: str | None, as_json: bool) -> None:
    """List tickets, oldest first."""
    app = cli.app()
    with app.sessions() as session:
        rows = list_tickets(session, status, queue)
    if as_json:
        _json(rows)
        return
    for row in rows:
        click.echo(
            f"#{row['id']:<6} {row['status']:<9} {row['priority']:<7} {row['customer']:<32} "
            f"{row['messages']:>3} msg  {row['subject']}"
        )


@tickets.command("show")
@click.argument("ticket_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(cli: CliContext, ticket_id: int, as_json: bool) -> None:
    """Show one ticket with its conversation."""
    app = cli.app()
    with app.sessions() as session:
        ticket = show_ticket(session, ticket_id)
    if as_json:
        _json(ticket)
        return
    click.echo(f"#{ticket['id']} {ticket['subject']}")
    click.echo(
        f"status {ticket['status']}, priority {ticket['priority']}, queue {ticket['queue']}, "
        f"assignee {ticket['assignee'] or 'nobody'}"
    )
    click.echo("participants: " + ", ".join(p["address"] for p in ticket["participants"]))
    for message in ticket["messages"]:
        click.echo(
            f"\n--- {message['date']}  {message['direction']}  {message['kind']}  "
            f"{message['author']}"
        )
        if message["new_text"]:
            click.echo(message["new_text"])
        for attachment in message["attachments"]:
            note = f" (not kept: {attachment['omitted']})" if attachment["omitted"] else ""
            click.echo(f"[attachment: {attachment['filename']}, {attachment['size']} bytes{note}]")


COMMANDS = [tickets]
