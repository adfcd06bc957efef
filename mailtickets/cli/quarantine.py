"""`mailtickets quarantine list|show|retry|discard`: messages that could not be processed."""

from __future__ import annotations

import click

from mailtickets.cli import CliContext, fail
from mailtickets.cli.output import print_json, table, when
from mailtickets.services import quarantine as service


@click.group("quarantine")
def quarantine() -> None:
    """Messages set aside with their reason; replay or discard them."""


@quarantine.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_(cli: CliContext, as_json: bool) -> None:
    """List quarantined messages."""
    app = cli.app()
    with app.sessions() as session:
        found = [service.view(e) for e in service.entries(session)]
    if as_json:
        print_json(found)
        return
    table(
        ("id", "received", "source", "from", "subject", "reason"),
        [
            (
                f"#{e['id']}",
                when(e["received_at"]),
                e["source"],
                e["mail_from"],
                repr(e["subject"][:40]),
                e["reason"],
            )
            for e in found
        ],
    )
    click.echo(f"{len(found)} quarantined message(s)")


@quarantine.command()
@click.argument("intake_id", type=int)
@click.option("--raw", is_flag=True, help="Print the whole raw message.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(cli: CliContext, intake_id: int, raw: bool, as_json: bool) -> None:
    """Show why a message is quarantined, its envelope and its headers."""
    app = cli.app()
    with app.sessions() as session:
        found = service.detail(service.get(session, intake_id), raw)
    if as_json:
        print_json(found)
        return
    click.echo(
        f"intake #{found['id']} from {found['source']}, received {when(found['received_at'])}"
    )
    click.echo(f"reason: {found['reason']}")
    click.echo(f"attempts: {found['attempts']}")
    click.echo(f"envelope: from {found['mail_from']!r} to {', '.join(found['rcpt_to']) or '-'}")
    click.echo("")
    click.echo(found["raw"] if raw else found["headers"])


@quarantine.command()
@click.argument("intake_id", type=int, required=False)
@click.option("--all", "every", is_flag=True, help="Retry every quarantined message.")
@click.pass_obj
def retry(cli: CliContext, intake_id: int | None, every: bool) -> None:
    """Replay a quarantined message (or --all); the running daemon processes it."""
    if (intake_id is None) == (not every):
        fail("give one message id or --all")
    app = cli.app()
    now = app.clock.now()
    with app.sessions.begin() as session:
        if every:
            ids = service.retry_all(session, now)
        else:
            assert intake_id is not None
            service.retry(session, intake_id, now)
            ids = [intake_id]
    click.echo(f"{len(ids)} message(s) queued for processing again")


@quarantine.command()
@click.argument("intake_id", type=int)
@click.pass_obj
def discard(cli: CliContext, intake_id: int) -> None:
    """Give up on a quarantined message (its raw bytes are kept)."""
    app = cli.app()
    with app.sessions.begin() as session:
        service.discard(session, intake_id, app.clock.now())
    click.echo(f"message #{intake_id} discarded")


COMMANDS = [quarantine]
