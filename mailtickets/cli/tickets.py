"""`mailtickets tickets list|show|attachment`: tickets at a glance, one whole (as text or
JSON), or one of its files saved; and `mailtickets sla show|report`.

About 360 lines, mostly the text layout of `tickets show`; the data comes from
`services.views`, so the module stays one family of commands.
"""

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
from mailtickets.cli.output import print_json, table, when
from mailtickets.clock import SystemClock
from mailtickets.config.reader import duration
from mailtickets.db import files
from mailtickets.db.models import Agent, Ticket, TicketStatus
from mailtickets.errors import NotFound
from mailtickets.services import tickets as service
from mailtickets.services.sla import clocks, report
from mailtickets.services.sla.policy import SlaConfig
from mailtickets.services.views import list_tickets, show_ticket


@click.group("tickets")
def tickets() -> None:
    """List and show tickets."""


#: The longest value of an event's data shown in `tickets show` (JSON has it whole).
DETAIL = 120


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
    sessions = cli.database()
    now = SystemClock().now()
    due_before = None
    if due_within is not None:
        try:
            due_before = now + duration(due_within)
        except ValueError as exc:
            fail(f"--due-within {due_within}: {exc}")
        except OverflowError:
            fail(f"--due-within {due_within}: too far ahead for a date")
    if breached:
        due_before = now
    with sessions() as session:
        rows = list_tickets(session, status, queue, due_before)
    if as_json:
        print_json(rows)
        return
    table(
        ("id", "status", "priority", "customer", "msgs", "updated", "subject"),
        [
            (
                f"#{row['id']}",
                row["status"],
                row["priority"],
                row["customer"],
                row["messages"],
                when(row["updated_at"]),
                row["subject"],
            )
            for row in rows
        ],
    )
    click.echo(f"{len(rows)} ticket(s)")


@tickets.command("show")
@click.argument("ticket_id", type=int)
@click.option(
    "--full", is_flag=True, help="Print each message whole, quoted history and signature included."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(cli: CliContext, ticket_id: int, full: bool, as_json: bool) -> None:
    """Show one ticket: its people and tags, the conversation (what each sender wrote, or
    --full), the mail sent, the history."""
    app = cli.app()
    with app.sessions() as session:
        ticket = show_ticket(session, ticket_id)
    if as_json:
        print_json(ticket)
        return
    click.echo(f"#{ticket['id']} {ticket['subject']}")
    click.echo(
        f"status {ticket['status']}, priority {ticket['priority']}, queue {ticket['queue']}, "
        f"assignee {ticket['assignee'] or 'nobody'}"
    )
    if ticket["linked_ticket"]:
        click.echo(f"continues #{ticket['linked_ticket']}")
    click.echo(f"tags: {', '.join(ticket['tags']) or '-'}")
    people = [
        f"{_person(p['name'], p['address'])} ({p['role']}{', pending' if p['pending'] else ''})"
        for p in ticket["participants"]
    ]
    click.echo(f"participants: {', '.join(people) or '-'}")
    _conversation(ticket, full=full)
    click.echo("\noutgoing mail:" + ("" if ticket["outgoing"] else " none"))
    table(
        ("id", "status", "template", "to", "last error"),
        [
            (
                f"#{out['id']}",
                _delivery(out),
                out["template"],
                ", ".join(out["recipients"]),
                out["last_error"],
            )
            for out in ticket["outgoing"]
        ],
    )
    click.echo("\nhistory:")
    table(
        ("at", "event", "by", "details"),
        [(when(e["at"]), e["kind"], e["actor"], _details(e["data"])) for e in ticket["events"]],
    )


def _conversation(ticket: dict[str, Any], *, full: bool) -> None:
    outgoing = {out["message_id"]: out for out in ticket["outgoing"]}
    for message in ticket["messages"]:
        if message["direction"] == "out":
            out = outgoing[message["message_id"]]
            click.echo(
                f"\n--- {when(message['date'])}  out  {out['template']} to "
                f"{', '.join(out['recipients'])} ({_delivery(out)})"
            )
            continue
        click.echo(
            f"\n--- {when(message['date'])}  {message['direction']}  {message['kind']}  "
            f"{message['author']}"
        )
        text = message["body"] if full else message["new_text"]
        if text:
            click.echo(text.rstrip("\n"))
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
    from mailtickets.outbox.attachments import ticket_files  # the mail parser: this command's

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


def _person(name: str | None, address: str) -> str:
    return f"{name} <{address}>" if name else address


def _delivery(out: dict[str, Any]) -> str:
    return "held" if out["held"] else str(out["status"])


def _details(data: dict[str, Any]) -> str:
    """An event's data as `key=value` pairs, each value kept short."""
    shown = []
    for key, value in data.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, list | dict):
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        else:
            text = str(value)
        shown.append(f"{key}={text if len(text) <= DETAIL else text[: DETAIL - 1] + '…'}")
    return "  ".join(shown)


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
        print_json(state)
        return
    click.echo(f"#{ticket_id}: {state['state']} (policy {state['policy'] or 'none'})")
    table(
        ("clock", "due", "business time left"),
        [(clock["kind"], clock["due"], clock["remaining"]) for clock in state["clocks"]],
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
        print_json(rows)
        return
    click.echo(f"since {start:%Y-%m-%d}; times in business hours (median / 90th percentile)")
    table(
        ("queue", "priority", "tickets", "first response", "resolved", "within SLA", "breaches"),
        [
            (
                row["queue"],
                row["priority"],
                row["tickets"],
                f"{row['first_response_hours']['median']}/{row['first_response_hours']['p90']}",
                f"{row['resolution_hours']['median']}/{row['resolution_hours']['p90']}",
                "-" if row["within_sla_percent"] is None else f"{row['within_sla_percent']}%",
                row["breaches"],
            )
            for row in rows
        ],
    )


sla_group.name = "sla"
COMMANDS = [tickets, sla_group]
