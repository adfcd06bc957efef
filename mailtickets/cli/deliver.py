"""`mailtickets deliver`: store one message read on stdin, for an MTA's pipe transport.

The exit code is what the MTA acts on (sysexits.h): 0 stored; 65 (empty message) and 67
(not one of our addresses) bounce the message to its sender, who alone can fix those; 75
(try again later) for everything else — a broken configuration, a database that is down or
not yet upgraded, storage the command cannot use, an option mistake in the MTA's command
line, even a bug — because those get fixed while the MTA keeps the message. Postfix's pipe(8)
bounces for any other code, so no other code may escape. Errors are one line on stderr.
"""

from __future__ import annotations

import logging
import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from mailtickets.cli import EX_TEMPFAIL, NOT_STORED, PIPE_COMMAND, CliContext, fail, first_line
from mailtickets.clock import SystemClock
from mailtickets.config import Settings
from mailtickets.db.migrate import open_current
from mailtickets.errors import MailticketsError
from mailtickets.ingest import intake
from mailtickets.ingest.intake import Envelope
from mailtickets.ingest.smtp import Recipients

log = logging.getLogger(__name__)

# sysexits.h, spelled out: the os.EX_* constants do not exist on every platform.
EX_DATAERR = 65
EX_NOUSER = 67


class PipeCommand(click.Command):
    """An option mistake is in the MTA's configuration, not the sender's: 75, not click's 2."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            fail(f"{NOT_STORED}: {exc.format_message()}", EX_TEMPFAIL)


@click.command(PIPE_COMMAND, cls=PipeCommand)
@click.option("--queue", metavar="ADDRESS", help="Queue address (default: the first queue).")
@click.option("--sender", metavar="ADDRESS", help="Envelope sender (the MTA's ${sender}).")
@click.option(
    "--recipient", metavar="ADDRESS", help="Envelope recipient (default: the queue address)."
)
@click.pass_obj
def deliver(cli: CliContext, queue: str | None, sender: str | None, recipient: str | None) -> None:
    """Store one message read on standard input; exit 75 when it must be retried."""
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        fail("the message on standard input is empty", EX_DATAERR)
    try:
        settings = cli.settings_as_owner()
        envelope = _envelope(settings, queue, sender, recipient)
        sessions = open_current(settings.database.url)
        accepted = intake.accept(sessions, raw, envelope, SystemClock().now())
    except Exception as exc:  # whatever it is, the MTA must keep the message
        log.debug("deliver failed", exc_info=True)
        fail(f"{NOT_STORED}: {_cause(exc)}{_where(exc, cli)}", EX_TEMPFAIL)
    already = "already " if accepted.duplicate else ""
    click.echo(f"{already}stored as intake #{accepted.id}")


def _envelope(
    settings: Settings, queue: str | None, sender: str | None, recipient: str | None
) -> Envelope:
    """The envelope of a piped message; exits 67 for an address that is not one of ours."""
    ours = Recipients(settings.queues)
    for address in (queue, recipient):
        if address is not None and not ours.accepts(address):
            fail(f"{address} is not the address of a queue", EX_NOUSER)
    rcpt_to = recipient or queue or settings.queues[0].address
    # An MTA passes an empty sender for bounces: the null return path, kept as "".
    return Envelope(source="pipe", mail_from=sender, rcpt_to=(rcpt_to,))


def _cause(exc: Exception) -> str:
    """What went wrong, in one line; a bug is named by its type, which says more."""
    if isinstance(exc, MailticketsError | SQLAlchemyError | OSError):
        return first_line(exc)
    return f"{type(exc).__name__}: {first_line(exc)}"


def _where(exc: Exception, cli: CliContext) -> str:
    return cli.which_database() if isinstance(exc, SQLAlchemyError) else ""


COMMANDS = [deliver]
