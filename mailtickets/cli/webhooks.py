"""`mailtickets webhooks …`: events that wait or failed, and a test post to a receiver."""

from __future__ import annotations

import click

from mailtickets.cli import CliContext, fail
from mailtickets.cli.output import print_json, table, when
from mailtickets.errors import WebhookRefused
from mailtickets.outbound.webhook_body import TEST_EVENT, test_body
from mailtickets.outbound.webhook_sender import client, post
from mailtickets.services import webhooks as service


@click.group("webhooks")
def webhooks() -> None:
    """Ticket events posted to `[[webhook]]` receivers."""


@webhooks.command("list")
@click.option("--failed", is_flag=True, help="Only events that failed for good.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_(cli: CliContext, failed: bool, as_json: bool) -> None:
    """List events not yet delivered, and failed ones."""
    app = cli.app()
    with app.sessions() as session:
        found = service.rows(session, failed)
    if as_json:
        print_json(found)
        return
    table(
        ("id", "status", "receiver", "event", "ticket", "attempts", "next try", "last error"),
        [
            (
                f"#{row['id']}",
                row["status"],
                row["receiver"],
                row["type"],
                f"#{row['ticket']}" if row["ticket"] else None,
                row["attempts"],
                when(row["next_attempt_at"]) if row["status"] == "pending" else None,
                row["last_error"],
            )
            for row in found
        ],
    )
    click.echo(f"{len(found)} event(s)")


@webhooks.command()
@click.argument("delivery_id", type=int, required=False)
@click.option("--all", "every", is_flag=True, help="Every failed and waiting event.")
@click.pass_obj
def retry(cli: CliContext, delivery_id: int | None, every: bool) -> None:
    """Post a failed or waiting event now (or --all); the running daemon posts it."""
    if (delivery_id is None) == (not every):
        fail("give one delivery id or --all")
    app = cli.app()
    with app.sessions.begin() as session:
        failed, waiting = service.retry(session, delivery_id, app.clock.now())
    click.echo(
        f"{failed + waiting} event(s) queued for posting now "
        f"({failed} failed, {waiting} waiting); the running daemon posts them"
    )


@webhooks.command()
@click.argument("name")
@click.pass_obj
def test(cli: CliContext, name: str) -> None:
    """Post a signed `webhook.test` event to the receiver NAME now and say how it answered."""
    settings = cli.settings()
    hook = next((h for h in settings.webhooks if h.name == name), None)
    if hook is None:
        known = ", ".join(h.name for h in settings.webhooks) or "none is configured"
        fail(f"no [[webhook]] named {name} ({known})")
    now = cli.app().clock.now()
    body = test_body(hook.format, f"mailtickets webhook test: {name} receives events", now)
    with client() as http:
        try:
            error = post(http, hook, body, TEST_EVENT, now)
        except WebhookRefused as exc:
            fail(f"{name} refused the test event: {exc}")
    if error is not None:
        fail(f"{name} did not take the test event: {error}")
    click.echo(f"{name}: the test event was taken")


COMMANDS = [webhooks]
