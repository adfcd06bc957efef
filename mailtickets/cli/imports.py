"""`mailtickets import PATH...`: .eml files, mbox files and maildirs into tickets."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import click

from mailtickets.cli import CliContext, fail
from mailtickets.db.ownership import duties_for
from mailtickets.ingest.files import items
from mailtickets.ingest.importer import SUMMARY_LABELS, import_message


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--queue", help="Queue address for messages that carry no envelope recipient.")
@click.pass_obj
def import_(cli: CliContext, paths: tuple[Path, ...], queue: str | None) -> None:
    """Import messages; importing the same files again creates nothing new."""
    app = cli.app()
    if queue is not None and app.pipeline.queue_for(queue) is None:
        fail(f"--queue {queue}: not a configured queue address")
    outcomes: Counter[str] = Counter()
    duties = duties_for(app.engine)
    try:
        duties.start()  # on PostgreSQL, a starting daemon sees the import's leases are alive
        # Read lazily: an mbox is open only while its messages are imported.
        with click.progressbar(
            items(list(paths)),
            label="importing",
            file=sys.stderr,
            show_pos=True,
            hidden=not sys.stderr.isatty(),
        ) as progress:
            for item in progress:
                raw = item.read()
                outcomes[
                    import_message(
                        app.sessions,
                        raw,
                        queue,
                        app.pipeline,
                        app.settings.ingest,
                        app.clock,
                        duties.name,
                    )
                ] += 1
    finally:
        duties.close()
    parts = [f"{outcomes[key]} {label}" for key, label in SUMMARY_LABELS.items() if outcomes[key]]
    click.echo(f"{outcomes.total()} messages: " + (", ".join(parts) or "nothing to do"))


COMMANDS = [import_]
