"""`mailtickets report volume|agents|csat`: the numbers, as a table, JSON or CSV."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from sqlalchemy.orm import Session

from mailtickets.cli import CliContext, fail
from mailtickets.cli.output import print_json, table
from mailtickets.services import reports

_REPORTS: dict[str, Callable[[Session, datetime], list[dict[str, Any]]]] = {
    "volume": reports.volume,
    "agents": reports.agents,
    "csat": reports.csat,
}
DEFAULT_PERIOD = timedelta(days=30)


@click.command("report")
@click.argument("kind", type=click.Choice(reports.REPORTS))
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="From this day (UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@click.pass_obj
def report(cli: CliContext, kind: str, since: datetime | None, as_json: bool, as_csv: bool) -> None:
    """Ticket volume per day, agents' work, or customer satisfaction (default: 30 days)."""
    if as_json and as_csv:
        fail("give --json or --csv, not both")
    app = cli.app()
    start = since.replace(tzinfo=UTC) if since else app.clock.now() - DEFAULT_PERIOD
    with app.sessions() as session:
        rows = _REPORTS[kind](session, start)
    if as_json:
        print_json(rows)
    elif as_csv:
        _csv(rows)
    else:
        click.echo(f"{kind} since {start:%Y-%m-%d}")
        _table(rows)


def _csv(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def _table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        click.echo("nothing in this period")
        return
    columns = list(rows[0])
    table(columns, [[row[c] for c in columns] for row in rows])


COMMANDS = [report]
