"""`mailtickets agents list`: who answers which queues, as configured."""

from __future__ import annotations

import click

from mailtickets.cli import CliContext
from mailtickets.cli.output import print_json, table
from mailtickets.outbox.notices import serving


@click.group("agents")
def agents() -> None:
    """Agents, as the configuration declares them."""


@agents.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_(cli: CliContext, as_json: bool) -> None:
    """List agents with their role and the queues they serve."""
    settings = cli.settings()
    rows = [
        {
            "address": agent.address,
            "name": agent.name,
            "role": agent.role,
            "queues": [q.address for q in settings.queues if agent in serving(q, settings.agents)],
        }
        for agent in settings.agents
    ]
    if as_json:
        print_json(rows)
        return
    table(
        ("address", "name", "role", "queues"),
        [(row["address"], row["name"], row["role"], ", ".join(row["queues"])) for row in rows],
    )
    click.echo(f"{len(rows)} agent(s)")


COMMANDS = [agents]
