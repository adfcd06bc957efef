"""`mailtickets tickets list|show|attachment`: tickets at a glance, one whole (as text or
JSON), or one of its files saved."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.cli import CliContext, fail
from mailtickets.config.reader import duration
from mailtickets.db import files
from mailtickets.db.models import Agent, Ticket, TicketStatus
from mailtickets.errors import NotFound
from mailtickets.outbox.attachments import ticket_files
from mailtickets.services import tickets as service
from mailtickets.services.sla import clocks, report
from mailtickets.services.sla.policy import SlaConfig
from mailtickets.services.views import list_tickets, show_ticket


@click.group("tickets")
def tickets() -> None:
    """List and show tickets."""


def _json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


@tickets.command("list")
@click.option("--status", type=click.Choice([s.value for s in TicketStatus]))
@click.option("--queue", help="Queue address or name.")
@click.option("--due-within", help='Only tickets with an SLA due within this ("1h", "30m").')
@click.option("--breached", is_flag=True, help="Only tickets past an SLA due time.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_(
    cli: CliContext,
    status: str | None,
    queue: str | None,
    due_within: str | None,
    breached: bool,
    as_json: bool,
) -> None:
    """List tickets, oldest first."""
    app = cli.app()
    due_before = None
    if due_within is not None:
        try:
            due_before = app.clock.now() + duration(due_within)
        except ValueError as exc:
            fail(f"--due-within {due_within}: {exc}")
    if breached:
        due_before = app.clock.now()
    with app.sessions() as session:
        rows = list_tickets(session, status, queue, due_before)
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
            click.echo(
                f"[file {attachment['number']}: {attachment['filename']}, "
                f"{attachment['size']} bytes{note}]"
            )


@tickets.command("attachment")
@click.argument("ticket_id", type=int)
@click.argument("number", type=click.IntRange(min=1))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write, replaced if it exists; - for standard output.",
)
@click.pass_obj
def attachment(cli: CliContext, ticket_id: int, number: int, output: Path) -> None:
    """Save file NUMBER of a ticket, numbered as `tickets show` lists them, to --output."""
    app = cli.app()
    with app.sessions() as session:
        listed = ticket_files(session, service.find(session, ticket_id))
        if number > len(listed):
            has = f"it has {len(listed)}" if listed else "it has none"
            raise NotFound(f"ticket #{ticket_id} has no file {number} ({has})")
        row = listed[number - 1].row
        content = files.read(session, [row.id]).get(row.id)
    if content is None:
        fail(f"file {number} of ticket #{ticket_id} ({row.filename}) was not kept: {row.omitted}")
    if str(output) == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    try:
        output.write_bytes(content)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    click.echo(f"#{ticket_id} file {number}: {row.filename}, {len(content)} bytes in {output}")


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


@tickets.command()
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


@tickets.command()
@click.argument("ticket_id", type=int)
@click.pass_obj
def close(cli: CliContext, ticket_id: int) -> None:
    """Close a ticket (the customer is not mailed)."""

    def change(session: Session, ticket: Ticket, now: datetime, sla: SlaConfig) -> str:
        service.set_status(session, ticket, TicketStatus.CLOSED, now, _actor(), sla=sla)
        return "closed"

    _change(cli, ticket_id, change)


@tickets.command()
@click.argument("ticket_id", type=int)
@click.pass_obj
def reopen(cli: CliContext, ticket_id: int) -> None:
    """Open a pending, resolved or closed ticket again."""

    def change(session: Session, ticket: Ticket, now: datetime, sla: SlaConfig) -> str:
        service.set_status(session, ticket, TicketStatus.OPEN, now, _actor(), sla=sla)
        return "open"

    _change(cli, ticket_id, change)


@tickets.command()
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


@click.group("sla")
def sla_group() -> None:
    """Response-time SLAs."""


@sla_group.command("show")
@click.argument("ticket_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def sla_show(cli: CliContext, ticket_id: int, as_json: bool) -> None:
    """Due times, business time left and state of one ticket's SLA."""
    app = cli.app()
    now = app.clock.now()
    with app.sessions() as session:
        ticket = service.find(session, ticket_id)
        state = clocks.describe(session, ticket, app.sla, now)
    if as_json:
        click.echo(json.dumps(state, indent=2))
        return
    click.echo(f"#{ticket_id}: {state['state']} (policy {state['policy'] or 'none'})")
    for clock in state["clocks"]:
        click.echo(
            f"  {clock['kind']:<15} due {clock['due']}  {clock['remaining']} business time left"
        )


@sla_group.command("report")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Tickets created since.")
@click.option("--queue", help="Queue address or name.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def sla_report(cli: CliContext, since: datetime | None, queue: str | None, as_json: bool) -> None:
    """Per queue and priority: response and resolution times, share within SLA, breaches."""
    app = cli.app()
    now = app.clock.now()
    start = since.replace(tzinfo=UTC) if since else now - timedelta(days=30)
    with app.sessions() as session:
        rows = report.report(session, app.sla, start, now, queue)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"since {start:%Y-%m-%d}; times in business hours (median / 90th percentile)")
    for row in rows:
        first, done = row["first_response_hours"], row["resolution_hours"]
        within = row["within_sla_percent"]
        click.echo(
            f"{row['queue']:<28} {row['priority']:<7} {row['tickets']:>5} tickets  "
            f"first {first['median']}/{first['p90']}  resolved {done['median']}/{done['p90']}  "
            f"within SLA {within if within is not None else '-'}%  breaches {row['breaches']}"
        )


sla_group.name = "sla"
COMMANDS = [tickets, sla_group]
