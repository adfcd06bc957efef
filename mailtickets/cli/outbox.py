"""`mailtickets outbox …`, `send-test` and `templates …`."""

from __future__ import annotations

import json

import click
from jinja2 import TemplateError

from mailtickets.cli import CliContext, fail
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
        click.echo(json.dumps(found, indent=2))
        return
    for row in found:
        click.echo(
            f"#{row['id']:<6} {row['status']:<8} ticket #{row['ticket'] or '-':<6} "
            f"{row['template']:<28} {', '.join(row['recipients'])}  {row['last_error'] or ''}"
        )
    click.echo(f"{len(found)} message(s)")


@outbox.command()
@click.argument("outbound_id", type=int, required=False)
@click.option("--all", "every", is_flag=True, help="Retry every failed message.")
@click.pass_obj
def retry(cli: CliContext, outbound_id: int | None, every: bool) -> None:
    """Send a failed message again (or --all); the running daemon sends it."""
    if (outbound_id is None) == (not every):
        fail("give one message id or --all")
    app = cli.app()
    with app.sessions.begin() as session:
        count = service.retry(session, outbound_id, app.clock.now())
    click.echo(f"{count} message(s) queued for sending again")


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
@click.pass_obj
def show(cli: CliContext, name: str, locale: str, as_html: bool) -> None:
    """Print one template rendered with sample data."""
    rendered = render(cli.app().templates, name, locale, SAMPLE_CONTEXT)
    click.echo(f"Subject: {rendered.subject}\n")
    click.echo(rendered.html if as_html and rendered.html else rendered.text)


COMMANDS = [outbox, send_test, templates]
