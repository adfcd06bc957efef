"""`mailtickets outbox …`, `send-test` and `templates …`."""

from __future__ import annotations

from typing import Any

import click
from jinja2 import TemplateError

from mailtickets.cli import CliContext, fail
from mailtickets.cli.output import print_json, table, when
from mailtickets.outbound.render import LOCALES, SAMPLE_CONTEXT, TEMPLATES, render
from mailtickets.outbox.enqueue import enqueue
from mailtickets.services import outgoing as service


@click.group("outbox")
def outbox() -> None:
    """Outgoing mail that waits or failed."""


@outbox.command("list")
@click.option("--failed", is_flag=True, help="Only messages that failed for good.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_(cli: CliContext, failed: bool, as_json: bool) -> None:
    """List unsent and failed outgoing mail."""
    app = cli.app()
    with app.sessions() as session:
        found = service.rows(session, failed)
    if as_json:
        print_json(found)
        return
    table(
        ("id", "status", "ticket", "template", "to", "next try", "last error"),
        [
            (
                f"#{row['id']}",
                _status(row),
                f"#{row['ticket']}" if row["ticket"] else None,
                row["template"],
                ", ".join(row["recipients"]),
                when(row["next_attempt_at"]) if row["status"] == "pending" else None,
                row["last_error"],
            )
            for row in found
        ],
    )
    click.echo(f"{len(found)} message(s)")


@outbox.command("show")
@click.argument("outbound_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show_one(cli: CliContext, outbound_id: int, as_json: bool) -> None:
    """One outgoing message: to whom, its state, its last error and its headers."""
    app = cli.app()
    with app.sessions() as session:
        row = service.show(session, outbound_id)
    if as_json:
        print_json(row)
        return
    ticket = f"ticket #{row['ticket']}" if row["ticket"] else "no ticket"
    click.echo(f"outgoing #{row['id']}: {row['template']} ({row['locale']}), {ticket}")
    click.echo(f"to: {', '.join(row['recipients'])}")
    click.echo(f"status: {_status(row)} after {row['attempts']} attempt(s)")
    click.echo(f"created: {when(row['created_at'])}")
    if row["status"] == "sent":
        click.echo(f"sent: {when(row['sent_at'])}")
    elif row["status"] == "pending":
        click.echo(f"next try: {when(row['next_attempt_at'])}")
    click.echo(f"last error: {row['last_error'] or '-'}")
    click.echo(f"message-id: <{row['message_id']}>")
    click.echo("")
    click.echo(row["headers"] or "(not rendered yet)")


def _status(row: dict[str, Any]) -> str:
    return "held" if row["held"] else str(row["status"])


@outbox.command()
@click.argument("outbound_id", type=int, required=False)
@click.option("--all", "every", is_flag=True, help="Every failed and waiting message.")
@click.pass_obj
def retry(cli: CliContext, outbound_id: int | None, every: bool) -> None:
    """Send a failed or waiting message now (or --all); the running daemon sends it."""
    if (outbound_id is None) == (not every):
        fail("give one message id or --all")
    app = cli.app()
    with app.sessions.begin() as session:
        done = service.retry(session, outbound_id, app.clock.now())
    click.echo(
        f"{done.failed + done.waiting} message(s) queued for sending now "
        f"({done.failed} failed, {done.waiting} waiting); the running daemon sends them"
    )
    for address in done.unsuppressed:
        click.echo(f"{address}: no longer suppressed (the relay refused it for its own reasons)")


@click.command("send-test")
@click.argument("address")
@click.option("--locale", type=click.Choice(LOCALES), default="en", show_default=True)
@click.pass_obj
def send_test(cli: CliContext, address: str, locale: str) -> None:
    """Queue a sample acknowledgement to ADDRESS through the real outbox path."""
    app = cli.app()
    queue = app.settings.queues[0]
    context = SAMPLE_CONTEXT | {
        "queue": {"name": queue.name, "address": queue.address},
        "reply_to": queue.address,
    }
    with app.sessions.begin() as session:
        row = enqueue(
            session,
            template="customer/acknowledgement",
            locale=locale,
            recipients=[address],
            ticket=None,
            context=context,
            now=app.clock.now(),
            secret=app.secret,
            domain=queue.address.rpartition("@")[2],
        )
        session.flush()
        row_id = row.id
    click.echo(f"queued outgoing message #{row_id} to {address}; the running daemon sends it")


@click.group("templates")
def templates() -> None:
    """Check and preview the mail templates."""


@templates.command()
@click.pass_obj
def check(cli: CliContext) -> None:
    """Render every template in every locale with sample data; report each failure."""
    env = cli.app().templates
    failures = 0
    for name in TEMPLATES:
        for locale in LOCALES:
            try:
                render(env, name, locale, SAMPLE_CONTEXT)
            except (TemplateError, ValueError) as exc:  # report every one, not the first
                failures += 1
                click.echo(f"{locale}/{name}: {type(exc).__name__}: {exc}", err=True)
    if failures:
        fail(f"{failures} template(s) failed to render")
    click.echo(f"{len(TEMPLATES) * len(LOCALES)} templates render")


@templates.command()
@click.argument("name", type=click.Choice(TEMPLATES))
@click.option("--locale", type=click.Choice(LOCALES), default="en", show_default=True)
@click.option("--html", "as_html", is_flag=True, help="Print the HTML part.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: subject, text and html.")
@click.pass_obj
def show(cli: CliContext, name: str, locale: str, as_html: bool, as_json: bool) -> None:
    """Print one template rendered with sample data."""
    rendered = render(cli.app().templates, name, locale, SAMPLE_CONTEXT)
    if as_json:
        print_json(
            {
                "template": name,
                "locale": locale,
                "subject": rendered.subject,
                "text": rendered.text,
                "html": rendered.html,
            }
        )
        return
    click.echo(f"Subject: {rendered.subject}\n")
    click.echo(rendered.html if as_html and rendered.html else rendered.text)


COMMANDS = [outbox, send_test, templates]
