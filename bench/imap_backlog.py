"""An IMAP backlog: a mailbox in a real Dovecot already holds N messages when the daemon starts.

The clock runs from the daemon's launch until every message is processed and every
acknowledgement has reached the relay sink. Each run reads the same mailbox into a fresh
database: what is new is decided by the database's UID cursor, not by \\Seen.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench.corpus import generate
from bench.figures import Figure, Scale, Target
from bench.site import site, wait_until_done
from tests.support.dovecot import Dovecot, User
from tests.support.dovecot import unavailable_reason as dovecot_missing

APPEND_BATCH = 200
#: The target: a backlog of this many drained in TARGET_SECONDS; smaller backlogs are held
#: to the same rate.
TARGET_BACKLOG = 10_000
TARGET_SECONDS = 120.0
NOTE = (
    "the poller stores a batch (one FETCH, one transaction, one flag command) far faster "
    "than the pipeline takes it (see the IMAP poller figure): draining runs at the daemon's "
    "rate end to end, the SMTP figure's, and 10,000 messages in 120 s need over 83 a second"
)


def _fill(server: Dovecot, user: User, count: int) -> None:
    items = generate(count)
    with server.session(user) as client:
        for first in range(0, count, APPEND_BATCH):
            client.multiappend("INBOX", [item.raw for item in items[first : first + APPEND_BATCH]])


def _run(scale: Scale, server: Dovecot, user: User) -> float:
    extra = (
        "[[imap]]\n"
        f'name = "backlog"\nhost = "127.0.0.1"\nport = {server.port}\ntls = "none"\n'
        f'username = "{user.name}"\npassword_env = "BENCH_IMAP_PASSWORD"\n'
    )
    with tempfile.TemporaryDirectory(dir=scale.work) as directory:
        url = f"sqlite:///{directory}/mailtickets.db"
        env = {"BENCH_IMAP_PASSWORD": user.password}
        with site(Path(directory), url, extra, env) as here:
            wait_until_done(here, scale.imap_backlog)
            return time.perf_counter() - here.launched


def measure(scale: Scale) -> list[Figure]:
    missing = dovecot_missing()
    if missing:
        raise RuntimeError(missing)
    server = Dovecot().start()
    try:
        user = server.add_user()
        _fill(server, user, scale.imap_backlog)
        runs = tuple(_run(scale, server, user) for _ in range(scale.runs))
    finally:
        server.close()
    return [
        Figure(
            "imap_backlog",
            f"IMAP backlog of {scale.imap_backlog:,} messages in Dovecot, drained "
            f"(target: {TARGET_BACKLOG:,} in {TARGET_SECONDS:.0f} s, at that rate)",
            "s",
            runs,
            Target(
                TARGET_SECONDS * scale.imap_backlog / TARGET_BACKLOG,
                higher_is_better=False,
                if_missed=NOTE,
            ),
            note=f"{scale.imap_backlog / statistics.median(runs):.0f} msg/s",
        )
    ]
