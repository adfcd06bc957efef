"""`mailtickets status`: intake, outbox, tickets and, on PostgreSQL, which instance owns
which duty, at a glance."""

from __future__ import annotations

import click

from mailtickets.cli import CliContext
from mailtickets.cli.output import print_json
from mailtickets.db.ownership import SCHEDULER, imap_folder, owners
from mailtickets.services.status import status as read_status


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def status(cli: CliContext, as_json: bool) -> None:
    """Show what waits, what failed and how many tickets are where."""
    app = cli.app()
    duties = [SCHEDULER] + [
        imap_folder(box.name, folder) for box in app.settings.imap for folder in box.folders
    ]
    with app.sessions() as session:
        state = read_status(session)
        if app.engine.dialect.name == "postgresql":
            found = owners(session.connection(), duties)
            state["owners"] = {duty: found.get(duty) for duty in duties}
    if as_json:
        print_json(state)
        return
    intake, outbox = state["intake"], state["outbox"]
    click.echo(
        f"intake:  {intake['pending']} pending, {intake['quarantined']} quarantined, "
        f"{intake['done']} done (last received {state['last_received_at'] or 'never'})"
    )
    click.echo(
        f"outbox:  {outbox['pending']} pending, {outbox['failed']} failed, {outbox['sent']} sent "
        f"(last sent {state['last_sent_at'] or 'never'})"
    )
    if app.settings.webhooks:
        hooks = state["webhooks"]
        click.echo(
            f"webhooks: {hooks['pending']} pending, {hooks['failed']} failed, {hooks['sent']} sent"
        )
    for queue, counts in sorted(state["tickets"].items()):
        shown = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        click.echo(f"tickets: {queue}: {shown}")
    for box in state["mailboxes"]:
        click.echo(
            f"imap:    {box['mailbox']}/{box['folder']} read up to UID {box['last_uid']} "
            f"at {box['updated_at']}"
        )
    for duty, owner in state.get("owners", {}).items():
        click.echo(f"duty:    {duty}: {owner or 'nobody (no instance is running)'}")


COMMANDS = [status]
