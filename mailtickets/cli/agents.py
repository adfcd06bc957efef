"""`mailtickets agents list`: who answers which queues, as configured."""

from __future__ import annotations

import json

import click

from mailtickets.cli import CliContext
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
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(
            f"{row['address']:<32} {row['name']:<24} {row['role']:<8} " + ", ".join(row["queues"])
        )
    click.echo(f"{len(rows)} agent(s)")


COMMANDS = [agents]
