"""`mailtickets run`: the daemon in the foreground (systemd runs it the same way)."""

from __future__ import annotations

import asyncio
import logging
import os

import click
from sqlalchemy.exc import SQLAlchemyError

from mailtickets.app import App, daemon_parts, reload
from mailtickets.cli import CliContext, fail, first_line
from mailtickets.daemon import serve
from mailtickets.db.lease import reclaim
from mailtickets.db.ownership import duties_for, single_instance
from mailtickets.errors import MailticketsError
from mailtickets.heap import tune_malloc
from mailtickets.metrics import Metrics
from mailtickets.systemd import Notifier

log = logging.getLogger(__name__)


@click.command()
@click.pass_obj
def run(cli: CliContext) -> None:
    """Run the daemon until SIGTERM or SIGINT."""
    try:
        _run(cli)
    except (MailticketsError, SQLAlchemyError, OSError):
        raise  # worded in one line by the command group
    except Exception as exc:
        # Under systemd a traceback is 50 lines of journal per restart; the cause is one.
        log.debug("mailtickets run failed", exc_info=True)
        fail(f"stopped: {type(exc).__name__}: {first_line(exc)} (--log-level debug shows where)")


def _run(cli: CliContext) -> None:
    tune_malloc()
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
    if settings.api.listen is not None:
        host, port = settings.api.listen
        lines.append(f"  HTTP API on http://{host}:{port}/api/v1/ (/api/v1/openapi.json)")
    if settings.metrics.listen is not None:
        host, port = settings.metrics.listen
        lines.append(f"  health and metrics on http://{host}:{port}/healthz and /metrics")
    if settings.outgoing.host is None:
        lines.append(f"  outgoing mail is written to the maildir {settings.outgoing.maildir}/")
    if settings.smtp:
        first, queue = settings.smtp[0], settings.queues[0]
        # swaks speaks SMTP unless told otherwise; an LMTP listener would not understand it.
        protocol = " --protocol LMTP" if first.protocol == "lmtp" else ""
        lines.append(
            f"Send a first mail: swaks --server {first.host}:{first.port}{protocol} "
            f"--from you@example.com --to {queue.address}"
        )
    lines.append("Stop with Ctrl-C (SIGINT) or SIGTERM.")
    click.echo("\n".join(lines), err=True)


COMMANDS = [run]
