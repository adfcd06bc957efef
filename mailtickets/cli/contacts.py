"""`mailtickets contacts …`: what the helpdesk knows of a customer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mailtickets.cli import CliContext, fail
from mailtickets.cli.output import print_json, table, when
from mailtickets.services import contacts
from mailtickets.services.history import contact_history
from mailtickets.services.privacy import erase as erasure
from mailtickets.services.privacy import export as exporting
from mailtickets.services.privacy.person import find_person


@click.group("contacts")
def contacts_group() -> None:
    """Customers: their history, their data and their delivery records."""


@contacts_group.command()
@click.argument("address")
@click.pass_obj
def unsuppress(cli: CliContext, address: str) -> None:
    """Allow automatic mail to ADDRESS again after bounces."""
    app = cli.app()
    with app.sessions.begin() as session:
        reason = contacts.unsuppress(session, address, app.clock.now())
    if reason is None:
        click.echo(f"{address}: not suppressed; nothing to do")
    else:
        click.echo(f"{address}: automatic mail allowed again (was suppressed: {reason})")


@contacts_group.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def suppressed(cli: CliContext, as_json: bool) -> None:
    """Addresses that get no automatic mail, newest first, with the reason and date."""
    app = cli.app()
    with app.sessions() as session:
        rows = contacts.suppressions(session)
    if as_json:
        print_json(rows)
        return
    table(
        ("suppressed", "address", "reason"),
        [(when(row["suppressed_at"]), row["address"], row["reason"]) for row in rows],
    )
    click.echo(f"{len(rows)} suppressed address(es)")


# History: what a customer asked and how it went.


@contacts_group.command()
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(cli: CliContext, address: str, as_json: bool) -> None:
    """A customer's tickets, open ones, median first-response time and ratings."""
    app = cli.app()
    with app.sessions() as session:
        history = contact_history(session, address)
    if as_json:
        print_json(history)
        return
    _print_history(history)


def _print_history(history: dict[str, Any]) -> None:
    name = history["name"]
    click.echo(f"{name} <{history['address']}>" if name else history["address"])
    click.echo(f"customer since {history['since'][:10]}, language {history['locale'] or '-'}")
    if history["suppressed"]:
        click.echo(f"automatic mail suppressed: {history['suppressed']}")
    median = history["median_first_response_minutes"]
    average = history["average_rating"]
    click.echo(
        f"{len(history['tickets'])} tickets, {history['open']} open; median first response "
        f"{'-' if median is None else f'{median} min'}; average rating "
        f"{'-' if average is None else f'{average}/5'} ({len(history['ratings'])} ratings)"
    )
    table(
        ("ticket", "status", "opened", "queue", "rating", "subject"),
        [
            (
                f"#{ticket['id']}",
                ticket["status"],
                ticket["created_at"][:10],
                ticket["queue"],
                f"{ticket['rating']}/5" if ticket["rating"] else None,
                ticket["subject"],
            )
            for ticket in history["tickets"]
        ],
    )
    for rating in history["ratings"]:
        if rating["comment"]:
            click.echo(f"  #{rating['ticket']} {rating['rating']}/5: {rating['comment']}")


# Privacy: a person's data handed over (export) or removed (erase).


@contacts_group.command()
@click.argument("address")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Zip file to write (default: ./<address>.zip).",
)
@click.pass_obj
def export(cli: CliContext, address: str, output: Path | None) -> None:
    """Write everything about ADDRESS to a zip: JSON of tickets and messages, raw mails."""
    target = output or Path(f"{address.lower()}.zip")
    if target.exists():
        fail(f"{target} exists; choose another --output")
    app = cli.app()
    with app.sessions() as session:
        done = exporting.export(session, address, target)
    click.echo(
        f"{target}: {done.tickets} ticket(s), {done.messages} message(s), "
        f"{done.raw_mails} raw mail(s), {done.attachments} attachment(s)"
    )


@contacts_group.command()
@click.argument("address")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def erase(cli: CliContext, address: str, yes: bool) -> None:
    """Remove ADDRESS's personal data, messages and raw mails; tickets stay as counts."""
    app = cli.app()
    with app.sessions() as session:
        find_person(session, address)  # a typo is said before the question
    if not yes:
        click.confirm(
            f"Erase everything about {address}? Their tickets stay only as anonymous counts; "
            "this cannot be undone",
            abort=True,
        )
    with app.sessions.begin() as session:
        done = erasure.erase(session, address, app.clock.now(), app.settings.outgoing.maildir)
    erasure.release_freed_pages(app.engine)
    click.echo(
        f"{address}: erased from {done.tickets} ticket(s) opened, {done.messages} message(s), "
        f"{done.raw_mails} raw mail(s), {done.files} outbox file(s)"
    )


COMMANDS = [contacts_group]
