"""`mailtickets check-config`: load and validate everything, print every problem."""

from __future__ import annotations

import click

from mailtickets.cli import CliContext


@click.command("check-config")
@click.pass_obj
def check_config(cli: CliContext) -> None:
    """Validate the configuration; exit 0 when clean, 2 with every problem listed."""
    settings = cli.settings()
    click.echo(
        f"{settings.source_name}: ok ({len(settings.queues)} queue(s), "
        f"{len(settings.smtp)} listener(s), {len(settings.imap)} mailbox(es), "
        f"{len(settings.agents)} agent(s), {len(settings.rules)} rule(s))"
    )


COMMANDS = [check_config]
