"""`mailtickets tickets …`: tickets at a glance (`list`, here), one whole (`show`) or one of
its files (`attachment`) in `ticket_show`, and the changes an operator makes in
`ticket_change`.

`tickets list` is the command people run most and in scripts: it reads through the database
driver (`CliContext.reader`) and imports neither SQLAlchemy nor the models, and the other
commands, with their imports, are loaded only when asked for.
"""

from __future__ import annotations

import click

from mailtickets.cli import CliContext, LazyGroup, fail
from mailtickets.cli.output import print_json, table
from mailtickets.clock import SystemClock
from mailtickets.config.reader import duration
from mailtickets.db.ticket_status import TicketStatus
from mailtickets.services.ticket_list import list_tickets, view

#: The commands of `tickets` kept in other modules, in their `TICKET_COMMANDS`.
_TICKET_COMMANDS = {
    "show": "ticket_show",
    "attachment": "ticket_show",
    "assign": "ticket_change",
    "close": "ticket_change",
    "reopen": "ticket_change",
    "note": "ticket_change",
}


@click.group("tickets", cls=LazyGroup, modules=_TICKET_COMMANDS, table="TICKET_COMMANDS")
def tickets() -> None:
    """List and show tickets."""


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
    with cli.reader() as driver:
        rows = list_tickets(driver, status, queue, due_before)
    if as_json:
        print_json([view(row) for row in rows])
        return
    table(
        ("id", "status", "priority", "customer", "msgs", "updated", "subject"),
        [
            (
                f"#{row.id}",
                row.status,
                row.priority,
                row.customer,
                row.messages,
                f"{row.updated_at:%Y-%m-%d %H:%M}",
                row.subject,
            )
            for row in rows
        ],
    )
    click.echo(f"{len(rows)} ticket(s)")


COMMANDS = [tickets]
