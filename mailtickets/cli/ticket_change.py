"""`mailtickets tickets assign|close|reopen|note`: an operator's changes to one ticket, each
in one transaction through `services.tickets`, as an agent's mail makes them."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import datetime

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.cli import CliContext, fail
from mailtickets.db.models import Agent, Ticket, TicketStatus
from mailtickets.errors import NotFound
from mailtickets.services import tickets as service
from mailtickets.services.sla.policy import SlaConfig


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _change(
    cli: CliContext,
    ticket_id: int,
    change: Callable[[Session, Ticket, datetime, SlaConfig], str],
) -> None:
    """Apply `change` to a ticket in one transaction and echo what it says it did."""
    app = cli.app()
    with app.sessions.begin() as session:
        ticket = service.find(session, ticket_id)
        now = app.clock.now()
        click.echo(f"#{ticket_id}: {change(session, ticket, now, app.sla)}")


@click.command()
@click.argument("ticket_id", type=int)
@click.argument("agent", required=False)
@click.option("--nobody", is_flag=True, help="Remove the assignee.")
@click.pass_obj
def assign(cli: CliContext, ticket_id: int, agent: str | None, nobody: bool) -> None:
    """Assign a ticket to AGENT (an agent's address), or to --nobody."""
    if (agent is None) == (not nobody):
        fail("give an agent address or --nobody")

    def change(session: Session, ticket: Ticket, now: datetime, sla: SlaConfig) -> str:
        target = None
        if agent is not None:
            target = session.scalar(select(Agent).where(Agent.address == agent.lower()))
            if target is None or not target.active:
                raise NotFound(f"no agent {agent}")
        service.assign(session, ticket, target, now, _actor())
        return f"assigned to {target.address if target else 'nobody'}"

    _change(cli, ticket_id, change)


@click.command()
@click.argument("ticket_id", type=int)
@click.pass_obj
def close(cli: CliContext, ticket_id: int) -> None:
    """Close a ticket (the customer is not mailed)."""

    def change(session: Session, ticket: Ticket, now: datetime, sla: SlaConfig) -> str:
        service.set_status(session, ticket, TicketStatus.CLOSED, now, _actor(), sla=sla)
        return "closed"

    _change(cli, ticket_id, change)


@click.command()
@click.argument("ticket_id", type=int)
@click.pass_obj
def reopen(cli: CliContext, ticket_id: int) -> None:
    """Open a pending, resolved or closed ticket again."""

    def change(session: Session, ticket: Ticket, now: datetime, sla: SlaConfig) -> str:
        service.set_status(session, ticket, TicketStatus.OPEN, now, _actor(), sla=sla)
        return "open"

    _change(cli, ticket_id, change)


@click.command()
@click.argument("ticket_id", type=int)
@click.argument("text")
@click.option("--author", help="The agent address the note is from.")
@click.pass_obj
def note(cli: CliContext, ticket_id: int, text: str, author: str | None) -> None:
    """Add an internal note (agents see it, the customer never does)."""

    def change(session: Session, ticket: Ticket, now: datetime, sla: SlaConfig) -> str:
        agent = None
        if author is not None:
            agent = session.scalar(select(Agent).where(Agent.address == author.lower()))
            if agent is None:
                raise NotFound(f"no agent {author}")
        service.add_note(session, ticket, text, agent, now)
        return "note added"

    _change(cli, ticket_id, change)


TICKET_COMMANDS = [assign, close, reopen, note]
