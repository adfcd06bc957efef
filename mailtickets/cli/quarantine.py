"""`mailtickets quarantine list|show|retry|discard`: messages that could not be processed."""

from __future__ import annotations

import click

from mailtickets.cli import CliContext, fail
from mailtickets.services import quarantine as service


@click.group("quarantine")
def quarantine() -> None:
    """Messages set aside with their reason; replay or discard them."""


@quarantine.command("list")
@click.pass_obj
def list_(cli: CliContext) -> None:
    """List quarantined messages."""
    app = cli.app()
    with app.sessions() as session:
        found = service.entries(session)
    for e in found:
        click.echo(
            f"#{e.id:<6} {e.received_at:%Y-%m-%d %H:%M} {e.source:<6} "
            f"{e.mail_from or '-':<30} {e.subject[:40]!r}  {e.reason}"
        )
    click.echo(f"{len(found)} quarantined message(s)")


@quarantine.command()
@click.argument("intake_id", type=int)
@click.option("--raw", is_flag=True, help="Print the whole raw message.")
@click.pass_obj
def show(cli: CliContext, intake_id: int, raw: bool) -> None:
    """Show why a message is quarantined, its envelope and its headers."""
    app = cli.app()
    with app.sessions() as session:
        row = service.get(session, intake_id)
        click.echo(
            f"intake #{row.id} from {row.source}, received {row.received_at:%Y-%m-%d %H:%M:%S}"
        )
        click.echo(f"reason: {row.last_error}")
        click.echo(f"attempts: {row.attempts}")
        click.echo(f"envelope: from {row.mail_from!r} to {', '.join(row.rcpt_to) or '-'}")
        text = row.raw.decode("utf-8", "replace")
        click.echo("")
        click.echo(text if raw else text.partition("\n\n")[0][:20000])


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
