"""The IMAP poller alone against a real Dovecot: a backlog read into the intake, new mail
brought in by IDLE, and stopping a poller in the middle of an IDLE.

The poller's tests check what happens (every message stored once and flagged; new mail
brought in by IDLE with polling an hour away; an IDLE interrupted by a stop); these are how
fast. The bounds those tests once asserted are the targets: 300 messages in 20 s, IDLE and
stop within 2 s. No daemon and no pipeline: rows are only stored in the intake (the IMAP
backlog figure follows messages all the way to their acknowledgement).
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from bench.corpus import generate
from bench.figures import Figure, Scale, Target
from mailtickets.ingest.imap import ImapPoller
from tests.support.clock import FrozenClock
from tests.support.dovecot import Counter, Dovecot, Records, User, message
from tests.support.dovecot import unavailable_reason as dovecot_missing
from tests.support.smtp import NOW, Store

APPEND_BATCH = 200
IDLE_SAMPLES = 20
#: Patience for one message or one stop; far above any figure, it only ends a broken run.
PATIENCE = 120.0
HOUR = timedelta(hours=1)
#: imapclient logs every line of the IMAP conversation here, at debug level.
IMAP_LINES = "imapclient.imaplib"


@contextmanager
def _not_propagated(name: str) -> Iterator[None]:
    """Keep `name`'s records from the runner's own log, which reports figures only."""
    logger = logging.getLogger(name)
    before, logger.propagate = logger.propagate, False
    try:
        yield
    finally:
        logger.propagate = before


def _store(directory: str) -> Store:
    return Store(f"sqlite:///{directory}/intake.db")


def _backlog_rate(scale: Scale, server: Dovecot, user: User) -> float:
    """Messages a second from the poller's start until the whole backlog is stored."""
    with tempfile.TemporaryDirectory(dir=scale.work) as directory:
        store = _store(directory)
        arrivals = Counter()
        part = ImapPoller(
            server.mailbox(user), store.sessions, FrozenClock(NOW), on_accepted=arrivals
        )
        started = time.perf_counter()
        asyncio.run(part.start())
        try:
            if not arrivals.wait_for(scale.imap_backlog, PATIENCE * 10):
                raise RuntimeError(f"{arrivals.count} of {scale.imap_backlog} messages stored")
            elapsed = time.perf_counter() - started
        finally:
            asyncio.run(part.stop())
            store.engine.dispose()
    return scale.imap_backlog / elapsed


def _idle(scale: Scale, server: Dovecot) -> tuple[list[float], float]:
    """Milliseconds from each APPEND to its row in the intake while the poller idles (polling
    an hour away), and the milliseconds a stop in the middle of an IDLE takes."""
    user = server.add_user()
    samples = min(IDLE_SAMPLES, scale.imap_backlog)
    latencies: list[float] = []
    # The server's "+ idling" answers IDLE: from then on it announces new mail at once. (The
    # poller's own log line comes just before it sends IDLE, too early to append.)
    imap_lines = Records()
    with tempfile.TemporaryDirectory(dir=scale.work) as directory:
        store = _store(directory)
        arrivals = Counter()
        box = server.mailbox(user, poll_interval=HOUR)
        part = ImapPoller(
            box, store.sessions, FrozenClock(NOW), on_accepted=arrivals, idle_refresh=HOUR
        )
        with (
            imap_lines.capturing(IMAP_LINES),
            _not_propagated(IMAP_LINES),
            server.session(user) as client,
        ):
            asyncio.run(part.start())
            try:
                for number in range(samples):
                    idling = imap_lines.wait_for(
                        lambda r: "+ idling" in r.getMessage(), number + 1, PATIENCE
                    )
                    if not idling:
                        raise RuntimeError(f"the poller did not idle before message {number}")
                    raw = message(number, message_id=f"idle-{number}@customer.example")
                    sent = time.perf_counter()
                    client.append("INBOX", raw)
                    if not arrivals.wait_for(number + 1, PATIENCE):
                        raise RuntimeError(f"message {number} was not brought in by IDLE")
                    latencies.append((time.perf_counter() - sent) * 1000)
                # Stopped in the middle of the IDLE that followed the last message.
                if not imap_lines.wait_for(
                    lambda r: "+ idling" in r.getMessage(), samples + 1, PATIENCE
                ):
                    raise RuntimeError("the poller did not idle after the last message")
            finally:
                stopping = time.perf_counter()
                asyncio.run(part.stop())
                stop = (time.perf_counter() - stopping) * 1000
                store.engine.dispose()
    return latencies, stop


def measure(scale: Scale) -> list[Figure]:
    missing = dovecot_missing()
    if missing:
        raise RuntimeError(missing)
    server = Dovecot().start()
    try:
        user = server.add_user()
        items = generate(scale.imap_backlog)
        with server.session(user) as client:
            for first in range(0, len(items), APPEND_BATCH):
                batch = items[first : first + APPEND_BATCH]
                client.multiappend("INBOX", [item.raw for item in batch])
        # Each run reads the same mailbox into a fresh database: the cursor decides what is
        # new, not \Seen.
        backlog = tuple(_backlog_rate(scale, server, user) for _ in range(scale.runs))
        idle = [_idle(scale, server) for _ in range(scale.runs)]
    finally:
        server.close()
    samples = len(idle[0][0])
    return [
        Figure(
            "imap_poller_backlog",
            f"IMAP poller alone: a backlog of {scale.imap_backlog:,} messages stored in the "
            "intake (no pipeline)",
            "msg/s",
            backlog,
            Target(300 / 20, higher_is_better=True),
        ),
        Figure(
            "imap_idle_median",
            f"IMAP IDLE: APPEND → row in the intake, median of {samples} (polling an hour away)",
            "ms",
            tuple(statistics.median(latencies) for latencies, _stop in idle),
            Target(2000, higher_is_better=False),
        ),
        Figure(
            "imap_idle_slowest",
            f"IMAP IDLE: APPEND → row in the intake, slowest of {samples}",
            "ms",
            tuple(max(latencies) for latencies, _stop in idle),
            Target(2000, higher_is_better=False),
        ),
        Figure(
            "imap_idle_stop",
            "Stopping a poller in the middle of an hour-long IDLE",
            "ms",
            tuple(stop for _latencies, stop in idle),
            Target(2000, higher_is_better=False),
        ),
    ]
