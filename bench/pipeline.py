"""The ingest worker alone: SQL statements and CPU time per message it processes.

The corpus is accepted into a SQLite file as the SMTP intake would, then each row is claimed
and run through the real pipeline (`pipeline.worker.process`) one after another, while a
`before_cursor_execute` listener counts the statements and `time.process_time` the CPU
spent in `process`. Both depend on the work, not on how busy the shared machine is, and the
worker's transaction holds SQLite's write lock for that whole time: what it costs here is
what the SMTP intake and the outbox sender wait for.
"""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.corpus import QUEUE, SUBJECT_PREFIX, generate
from bench.figures import Figure, Scale
from mailtickets.ingest.intake import Envelope, accept
from mailtickets.pipeline.worker import claim, process
from tests.support.helpdesk import make_helpdesk

HOLDER = "bench"

_CONFIG = f"""
[database]
url = "{{url}}"
[storage]
dir = "{{directory}}"
[tickets]
subject_prefix = "{SUBJECT_PREFIX}"
secret_env = "SECRET"
max_acknowledgements_per_hour = 1000
[ingest]
max_attachment_size = "30MiB"
[outgoing]
max_attachments_size = "40MB"
[notifications]
flood_threshold = 100000
[[queue]]
address = "{QUEUE}"
[[agent]]
address = "alice@acme.example"
name = "Alice"
role = "manager"
[[agent]]
address = "bruno@acme.example"
name = "Bruno"
"""


def run(count: int, directory: Path) -> tuple[float, float]:
    """(statements per message, CPU ms per message) over `count` corpus messages."""
    helpdesk = make_helpdesk(f"sqlite:///{directory}/mailtickets.db", directory, config=_CONFIG)
    app = helpdesk.app
    items = generate(count)
    ids = [
        accept(
            app.sessions, item.raw, Envelope("smtp", item.mail_from, (QUEUE,)), helpdesk.clock.now()
        ).id
        for item in items
    ]
    counter = _Counter()
    event.listen(app.engine, "before_cursor_execute", counter)
    cpu: list[float] = []
    try:
        for intake_id in ids:
            # The lease is not the pipeline's work: it is not counted.
            leased = claim(
                app.sessions,
                helpdesk.clock.now(),
                app.settings.ingest.retry_delay,
                intake_id,
                holder=HOLDER,
            )
            assert leased == intake_id
            counter.counting = True
            started = time.process_time()
            process(
                app.sessions,
                intake_id,
                app.pipeline,
                helpdesk.clock.now(),
                app.settings.ingest.max_attempts,
            )
            cpu.append(time.process_time() - started)
            counter.counting = False
            helpdesk.clock.advance(timedelta(seconds=1))
    finally:
        event.remove(app.engine, "before_cursor_execute", counter)
        app.engine.dispose()
    return counter.statements / count, sum(cpu) * 1000 / count


class _Counter:
    """A `before_cursor_execute` listener counting the statements while `counting`."""

    def __init__(self) -> None:
        self.counting = False
        self.statements = 0

    def __call__(self, *_: Any) -> None:
        if self.counting:
            self.statements += 1


def measure(scale: Scale) -> list[Figure]:
    runs = []
    for _ in range(scale.runs):
        with tempfile.TemporaryDirectory(dir=scale.work) as directory:
            runs.append(run(scale.corpus, Path(directory)))
    return [
        Figure(
            "pipeline_statements",
            "Ingest worker: SQL statements per message (sqlite, `pipeline.worker.process`)",
            "statements",
            tuple(s for s, _ in runs),
        ),
        Figure(
            "pipeline_cpu",
            "Ingest worker: CPU time per message (sqlite, `pipeline.worker.process`)",
            "ms",
            tuple(c for _, c in runs),
        ),
    ]
