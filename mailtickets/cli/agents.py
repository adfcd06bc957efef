"""`mailtickets agents list|away|back`: who answers which queues, who is away, who holds and
follows how many tickets; marking an agent away or back."""

from __future__ import annotations

import click

from mailtickets.cli import CliContext, fail
from mailtickets.cli.output import print_json, table, when
from mailtickets.mail.absence import parse_date
from mailtickets.services import absence
from mailtickets.services.team import team


@click.group("agents")
def agents() -> None:
    """Agents: as the configuration declares them, and whether they are away."""


@agents.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_(cli: CliContext, as_json: bool) -> None:
    """List agents: role, availability, open tickets held, tickets followed, queues."""
    app = cli.app()
    with app.sessions() as session:
        rows = team(session, app.settings.agents, app.settings.queues, app.clock.now())
    if as_json:
        print_json(rows)
        return
    table(
        ("address", "name", "role", "state", "open", "followed", "queues"),
        [
            (
                row["address"],
                row["name"],
                row["role"],
                _state(row),
                row["open"],
                row["followed"],
                ", ".join(row["queues"]),
            )
            for row in rows
        ],
    )
    click.echo(f"{len(rows)} agent(s)")


@agents.command("away")
@click.argument("address")
@click.option("--until", "until", help="The day they are back: 2026-12-24 or 24/12/2026.")
@click.pass_obj
def away(cli: CliContext, address: str, until: str | None) -> None:
    """Mark an agent away (until `mailtickets agents back`, or until a day): no new tickets
    go to them, and their queue's managers also hear of the tickets they hold."""
    day = parse_date(until) if until is not None else None
    if until is not None and day is None:
        fail(f"--until {until}: not a date such as 2026-12-24 or 24/12/2026")
    app = cli.app()
    now = app.clock.now()
    with app.sessions.begin() as session:
        agent = absence.find_agent(session, address)
        if why := absence.why_not(day, now):
            fail(f"--until {until}: {why}")
        absence.set_away(agent, now, day, absence.BY_CLI)
        click.echo(f"{agent.address}: {absence.state(agent, now).describe()}")


@agents.command("back")
@click.argument("address")
@click.pass_obj
def back(cli: CliContext, address: str) -> None:
    """Mark an agent available again."""
    app = cli.app()
    with app.sessions.begin() as session:
        agent = absence.find_agent(session, address)
        was = absence.set_back(agent)
        click.echo(f"{agent.address}: available" + ("" if was else " (was not away)"))


def _state(row: dict[str, object]) -> str:
    if row["state"] != "away":
        return "available"
    until = row["away_until"]
    if isinstance(until, str):
        return f"away until {when(until)[:10]}"
    return "away until they act" if row["away_how"] == absence.BY_AUTO_REPLY else "away"


COMMANDS = [agents]
