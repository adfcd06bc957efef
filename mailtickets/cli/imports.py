"""`mailtickets import PATH...`: .eml files, mbox files and maildirs into tickets."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path
from types import FrameType

import click

from mailtickets.cli import CliContext, fail
from mailtickets.db.ownership import duties_for
from mailtickets.ingest.files import items
from mailtickets.ingest.importer import SUMMARY_LABELS, Importer


class Interruption:
    """SIGINT and SIGTERM end the import between two messages, so that the summary is
    printed and the same command goes on where it stopped; a second signal ends it at once
    (the message in hand is rolled back, nothing is lost)."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __enter__(self) -> Interruption:
        self._previous = {
            signum: signal.signal(signum, self._received)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _received(self, signum: int, _frame: FrameType | None) -> None:
        self.signal = signum
        for other, handler in self._previous.items():
            signal.signal(other, handler)


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--queue", help="Queue address for messages that carry no envelope recipient.")
@click.option(
    "--notify",
    is_flag=True,
    help="Process the messages as new mail: acknowledgements, agent notices and SLA clocks "
    "from now. Without it an import mails nobody and keeps each message's own date.",
)
@click.option(
    "--progress-every",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Print a progress line on stderr after this many messages.",
)
@click.pass_obj
def import_(
    cli: CliContext, paths: tuple[Path, ...], queue: str | None, notify: bool, progress_every: int
) -> None:
    """Import messages; importing the same files again creates nothing new.

    Ctrl-C (or SIGTERM) stops after the message in hand; the same command again goes on
    where it stopped.
    """
    app = cli.app()
    if queue is not None and app.pipeline.queue_for(queue) is None:
        fail(f"--queue {queue}: not a configured queue address")
    duties = duties_for(app.engine)
    try:
        duties.start()  # on PostgreSQL, a starting daemon sees the import's leases are alive
        importer = Importer(
            app.sessions, app.pipeline, app.settings.ingest, app.clock, queue, notify, duties.name
        )
        outcomes: Counter[str] = Counter()
        # Read lazily: an mbox is open only while its messages are imported.
        with Interruption() as interruption:
            for item in items(list(paths)):
                if interruption.signal is not None:
                    break
                outcomes[importer.run(item.read())] += 1
                if outcomes.total() % progress_every == 0:
                    click.echo(f"imported {_summary(outcomes)}", err=True)
    finally:
        duties.close()
    click.echo(_summary(outcomes))
    if interruption.signal is not None:
        fail(
            f"interrupted by {signal.Signals(interruption.signal).name} after "
            f"{outcomes.total()} messages; run the same command again to go on",
            128 + interruption.signal,
        )


def _summary(outcomes: Counter[str]) -> str:
    parts = [f"{outcomes[key]} {label}" for key, label in SUMMARY_LABELS.items() if outcomes[key]]
    return f"{outcomes.total()} messages: " + (", ".join(parts) or "nothing to do")


COMMANDS = [import_]
