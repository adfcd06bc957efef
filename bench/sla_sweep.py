"""How long one SLA sweep takes over many open tickets of which few are due.

Builds a SQLite database with N open tickets (100 of them due), then times the sweep's
selection query and a whole sweep (which recomputes and notifies the due ones), each the
median of several runs. Prints one line per figure; `make bench` runs it.

    python bench/sla_sweep.py [--tickets 1000000] [--due 100] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from mailtickets.config.load import parse_settings
from mailtickets.db import migrate
from mailtickets.db.base import make_engine, session_factory
from mailtickets.db.models import Ticket
from mailtickets.services.directory import sync_directory
from mailtickets.services.sla import SlaConfig, sweep

CONFIG = """
[database]
url = "sqlite:///{db}"
[[queue]]
address = "support@acme.example"
sla = "std"
[[agent]]
address = "alice@acme.example"
name = "Alice"
role = "manager"
[[sla]]
name = "std"
first_response = "4h"
resolution = "30d"
"""
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
CHUNK = 50_000


def build(db: Path, tickets: int, due: int) -> None:
    engine = make_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    settings, _ = parse_settings(CONFIG.format(db=db), "bench", None, {})
    with session_factory(engine).begin() as session:
        sync_directory(session, settings.queues, settings.agents)
    stamp = (NOW - timedelta(hours=5)).isoformat(sep=" ")  # past its 4-hour first response
    later = (NOW + timedelta(days=3)).isoformat(sep=" ")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO contact (id, address, created_at, updated_at)"
                " VALUES (1, 'c@example.com', :t, :t)"
            ),
            {"t": stamp},
        )
        for first in range(1, tickets + 1, CHUNK):
            rows = [
                {"id": n, "t": stamp, "check": stamp if n <= due else later}
                for n in range(first, min(first + CHUNK, tickets + 1))
            ]
            connection.execute(
                text(
                    "INSERT INTO ticket (id, queue_id, contact_id, subject, status, priority,"
                    " created_at, updated_at, sla_check_at)"
                    " VALUES (:id, 1, 1, 'bench', 'open', 'normal', :t, :t, :check)"
                ),
                rows,
            )
    engine.dispose()


def median_ms(action: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        db = Path(directory) / "bench.db"
        started = time.perf_counter()
        build(db, args.tickets, args.due)
        print(
            f"built {args.tickets} open tickets, {args.due} due, "
            f"in {time.perf_counter() - started:.1f} s"
        )
        settings, _ = parse_settings(CONFIG.format(db=db), "bench", None, {})
        engine = make_engine(f"sqlite:///{db}")
        sessions = session_factory(engine)
        config = SlaConfig.from_settings(settings, b"bench")

        def select_due() -> None:
            with sessions() as session:
                found = session.scalars(
                    select(Ticket.id).where(Ticket.sla_check_at <= NOW).limit(200)
                ).all()
                assert len(found) == args.due

        print(f"sweep query (indexed):      {median_ms(select_due, args.runs):8.2f} ms median")
        # A whole sweep notifies each due ticket once; later runs find nothing new to send,
        # so the first run is the one that does the work and is reported alone.
        started = time.perf_counter()
        sent = sweep(sessions, config, NOW)
        full = (time.perf_counter() - started) * 1000
        print(f"first sweep ({sent} breaches): {full:8.2f} ms")
        idle = median_ms(lambda: sweep(sessions, config, NOW - timedelta(hours=1)), args.runs)
        print(f"sweep with nothing due:     {idle:8.2f} ms median")
        engine.dispose()


if __name__ == "__main__":
    main()
