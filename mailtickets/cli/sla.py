"""`mailtickets sla show|report`: one ticket's response-time clocks, and how the queues kept
their SLAs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from mailtickets.cli import CliContext
from mailtickets.cli.output import print_json, table
from mailtickets.services import tickets as service
from mailtickets.services.sla import clocks, report


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
COMMANDS = [sla_group]
