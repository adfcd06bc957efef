"""Ingest end to end: the corpus through SMTP into a running daemon, and through `import`.

SMTP: concurrent clients send the whole corpus to `mailtickets run`; the clock stops when every
message is processed (a committed ticket event, or a recorded discard) and every
acknowledgement has reached the relay sink. Import: `mailtickets import` of the corpus as an
mbox, timed as the command runs (its start-up included). Memory: the daemon's peak RSS over a
corpus run, and with one 25 MB attachment in flight.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from bench.corpus import Item, generate, single, write_mbox
from bench.figures import Figure, Scale, Target, timed
from bench.site import send_all, site, wait_until_done
from tests.support import postgres

THROUGHPUT_NOTE = (
    "the ceiling parses and does nothing else; the daemon, per message, takes it over SMTP, "
    "commits it, parses it, threads it, commits a ticket event and its outgoing mail, and "
    "renders, sends and records about 2.5 messages to the relay (the acknowledgement and two "
    "agents' notices). A py-spy profile puts the outbox sender thread at about 60% of the "
    "daemon's samples, the ingest worker at 30%: SQLAlchemy ORM statements, fsyncs "
    "(synchronous=FULL, about 2 ms each here) and composing mail with the stdlib's "
    "policy-based EmailMessage. The bench client, the relay sink and the daemon share the "
    "machine's 2 cores"
)
MEMORY_NOTE = (
    "the attachment travels base64-encoded (36 MB); aiosmtpd holds it while it arrives, the "
    "intake stores it with its trace header, and the worker reads it back and parses it: "
    "the stdlib parser keeps the body as lines and then as one string, and decoding the "
    "attachment adds its bytes. Feeding the parser in chunks took about 80 MB off "
    "(420 MiB before); the rest would need a parser that streams attachments to storage"
)

#: A database URL for one run: a fresh one each time.
Databases = Callable[[Path], AbstractContextManager[str]]


@contextmanager
def sqlite_database(directory: Path) -> Iterator[str]:
    yield f"sqlite:///{directory}/mailtickets.db"


def postgres_database(_directory: Path) -> AbstractContextManager[str]:
    return postgres.fresh_database()


def smtp_run(scale: Scale, items: list[Item], databases: Databases) -> tuple[float, float]:
    """One corpus run over SMTP: (messages per second, daemon peak RSS in MiB)."""
    with (
        tempfile.TemporaryDirectory(dir=scale.work) as directory,
        databases(Path(directory)) as url,
        site(Path(directory), url) as here,
    ):
        started = time.perf_counter()
        send_all(here.smtp_port, items, scale.clients)
        wait_until_done(here, len(items))
        elapsed = time.perf_counter() - started
        return len(items) / elapsed, here.peak_rss_mb()


def smtp_figures(scale: Scale, databases: Databases, backend: str) -> list[Figure]:
    items = generate(scale.corpus)
    runs = [smtp_run(scale, items, databases) for _ in range(scale.runs)]
    rate = Figure(
        f"smtp_{backend}",
        f"Ingest through SMTP, end to end ({backend}, {scale.clients} clients)",
        "msg/s",
        tuple(r for r, _ in runs),
        Target(1.0, higher_is_better=True, if_missed=THROUGHPUT_NOTE)
        if backend == "sqlite"
        else None,
        ratio_of="ceiling",
    )
    memory = Figure(
        f"rss_corpus_{backend}",
        f"Daemon peak RSS during the corpus run ({backend})",
        "MiB",
        tuple(m for _, m in runs),
    )
    return [rate, memory]


def smtp_sqlite(scale: Scale) -> list[Figure]:
    return smtp_figures(scale, sqlite_database, "sqlite")


def smtp_postgres(scale: Scale) -> list[Figure]:
    return smtp_figures(scale, postgres_database, "postgresql")


def import_mbox(scale: Scale) -> list[Figure]:
    items = generate(scale.corpus)

    def run() -> float:
        with tempfile.TemporaryDirectory(dir=scale.work) as directory:
            mbox = Path(directory) / "corpus.mbox"
            write_mbox(items, mbox)
            url = f"sqlite:///{directory}/mailtickets.db"
            with site(Path(directory), url, run=False) as here:
                return len(items) / timed(lambda: here.cli("import", str(mbox)))

    runs = tuple(run() for _ in range(scale.runs))
    return [
        Figure(
            "import_sqlite",
            "Ingest through `mailtickets import` of an mbox (sqlite, start-up included)",
            "msg/s",
            runs,
            ratio_of="ceiling",
        )
    ]


def big_attachment(scale: Scale) -> list[Figure]:
    item = single(scale.big_attachment)

    def run() -> float:
        with tempfile.TemporaryDirectory(dir=scale.work) as directory:
            url = f"sqlite:///{directory}/mailtickets.db"
            with site(Path(directory), url) as here:
                send_all(here.smtp_port, [item], 1)
                wait_until_done(here, 1)
                return here.peak_rss_mb()

    megabytes = scale.big_attachment / 1024 / 1024
    return [
        Figure(
            "rss_big",
            f"Daemon peak RSS with a {megabytes:.0f} MB attachment in flight",
            "MiB",
            tuple(run() for _ in range(scale.runs)),
            Target(150, higher_is_better=False, if_missed=MEMORY_NOTE),
        )
    ]
