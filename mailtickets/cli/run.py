"""`mailtickets run`: the daemon in the foreground (systemd runs it the same way)."""

from __future__ import annotations

import asyncio
import os

import click

from mailtickets.app import App, daemon_parts, reload
from mailtickets.cli import CliContext
from mailtickets.daemon import serve
from mailtickets.db.lease import reclaim
from mailtickets.db.ownership import duties_for, single_instance
from mailtickets.metrics import Metrics
from mailtickets.systemd import Notifier


@click.command()
@click.pass_obj
def run(cli: CliContext) -> None:
    """Run the daemon until SIGTERM or SIGINT."""
    app = cli.app()
    with single_instance(app.settings.database.url):
        duties = duties_for(app.engine)
        try:
            # Seen alive before the first lease; then the leases of whoever ran before and
            # died are due at once rather than after their backoff.
            duties.start()
            reclaim(app.sessions, duties, app.clock.now())
            asyncio.run(
                serve(
                    daemon_parts(app, Metrics(app.sessions), duties),
                    app.settings.daemon.stop_timeout.total_seconds(),
                    app.settings.daemon.stuck_after.total_seconds(),
                    on_ready=lambda: _greet(app),
                    notifier=Notifier(os.environ),
                    on_reload=lambda: reload(app, cli.reload_settings),
                )
            )
        finally:
            duties.close()


def _greet(app: App) -> None:
    settings = app.settings
    lines = [f"mailtickets is running ({settings.source_name}, {app.engine.url!r})."]
    for listener in settings.smtp:
        addresses = ", ".join(q.address for q in settings.queues)
        lines.append(
            f"  {listener.protocol.upper()} on {listener.host}:{listener.port} for {addresses}"
        )
    if settings.outgoing.host is None:
        lines.append(f"  outgoing mail is written to the maildir {settings.outgoing.maildir}/")
    if settings.smtp:
        first, queue = settings.smtp[0], settings.queues[0]
        lines.append(
            f"Send a first mail: swaks --server {first.host}:{first.port} "
            f"--from you@example.com --to {queue.address}"
        )
    lines.append("Stop with Ctrl-C (SIGINT) or SIGTERM.")
    click.echo("\n".join(lines), err=True)


COMMANDS = [run]
