"""`mailtickets deliver`: store one message read on stdin, for an MTA's pipe transport.

The exit code is what the MTA acts on (sysexits.h): 0 stored, 75 try again later (the
database or the configuration can be fixed while the MTA keeps the message), 65 and 67 bounce,
70 a bug. Errors are one line on stderr.
"""

from __future__ import annotations

import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from mailtickets.cli import CliContext, fail
from mailtickets.config import Settings
from mailtickets.errors import ConfigError, DatabaseError
from mailtickets.ingest import intake
from mailtickets.ingest.intake import Envelope
from mailtickets.ingest.smtp import Recipients

# sysexits.h, spelled out: the os.EX_* constants do not exist on every platform.
EX_DATAERR = 65
EX_NOUSER = 67
EX_SOFTWARE = 70
EX_TEMPFAIL = 75


@click.command()
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
        envelope = _envelope(cli.settings(), queue, sender, recipient)
        app = cli.app()
        accepted = intake.accept(app.sessions, raw, envelope, app.clock.now())
    except (ConfigError, DatabaseError, SQLAlchemyError) as exc:
        # A broken configuration, a database that is down or not yet upgraded: all get
        # fixed, and meanwhile the MTA keeps the message.
        fail(f"the message was not stored, try again later: {_first_line(exc)}", EX_TEMPFAIL)
    except Exception as exc:  # noqa: BLE001  (the MTA must hear "bug", not a traceback)
        fail(f"the message was not stored: {type(exc).__name__}: {_first_line(exc)}", EX_SOFTWARE)
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


def _first_line(exc: BaseException) -> str:
    origin = getattr(exc, "orig", None) or exc
    lines = str(origin).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


COMMANDS = [deliver]
