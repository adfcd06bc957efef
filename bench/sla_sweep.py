"""How long one SLA sweep takes over many open tickets of which a hundred are due.

Builds a database with N open tickets, the first 100 past their first-response budget, then
times whole sweeps (each recomputes and notifies the due tickets; the sweep is undone between
runs), after two that are not counted, and sweeps that find nothing due.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench.figures import Figure, Scale, Target
from mailtickets.config.load import parse_settings
from mailtickets.db import migrate
from mailtickets.db.base import make_engine, session_factory
from mailtickets.services.directory import sync_directory
from mailtickets.services.sla.policy import SlaConfig
from mailtickets.services.sla.sweep import sweep
from tests.support import postgres

CONFIG = """
[database]
url = "{url}"
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
DUE = 100
#: Customers the tickets belong to, a hundred open tickets each at a million.
CONTACTS = 10_000
#: A shared database (PostgreSQL) needs the signing key from the environment.
ENVIRONMENT = {"MAILTICKETS_SECRET": "bench-signing-key-0123456789abcdef"}
NOTE = (
    "finding the due tickets among a million takes a few ms (the sla_check_at index; see "
    "the none-due figure); the batch is read in about twenty statements whatever its size "
    "(histories, the template contexts, recipients, who has seen what, conversations) and "
    "its notification keys and outbox rows written in one statement each; what is left is "
    "per due ticket: its deadlines recomputed, its notices built and signed, and its event "
    "(through services.tickets.record, for webhooks), which SQLite inserts one INSERT ... "
    "RETURNING at a time; the first sweep of a process also compiles its statements"
)
#: Sweeps a process makes before those timed.
WARM_UP = 2
#: The issue's targets, in ms, for 100 due tickets among a million.
TARGETS = {"sqlite": 100, "postgresql": 200}


def build(url: str, tickets: int, due: int) -> None:
    """A database at `url` with `tickets` open tickets, the first `due` of them past due."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    settings, _ = parse_settings(CONFIG.format(url=url), "bench", None, ENVIRONMENT)
    with session_factory(engine).begin() as session:
        sync_directory(session, settings.queues, settings.agents)
    sqlite = engine.dialect.name == "sqlite"
    # SQLite reads our timestamps as text; PostgreSQL wants them typed.
    stamp, later = (
        (time.isoformat(sep=" ") if sqlite else time)
        for time in (NOW - timedelta(hours=5), NOW + timedelta(days=3))  # past 4-hour budget
    )
    with engine.begin() as connection:
        connection.execute(
            text(
                "WITH RECURSIVE n(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM n"
                " WHERE id < :contacts)"
                " INSERT INTO contact (id, address, created_at, updated_at)"
                " SELECT id, 'c' || id || '@example.com', :t, :t FROM n"
            ),
            {"contacts": CONTACTS, "t": stamp},
        )
        # One statement, the rows made by the database: a million round trips would take
        # minutes on PostgreSQL.
        connection.execute(
            text(
                "WITH RECURSIVE n(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM n"
                " WHERE id < :tickets)"
                " INSERT INTO ticket (id, queue_id, contact_id, subject, status, priority,"
                " created_at, updated_at, sla_check_at)"
                " SELECT id, 1, 1 + id % :contacts, 'bench', 'open', 'normal', :t, :t,"
                " CASE WHEN id <= :due THEN :t ELSE :later END FROM n"
            ),
            {"tickets": tickets, "contacts": CONTACTS, "due": due, "t": stamp, "later": later},
        )
        # The statistics a live database has (PostgreSQL's autovacuum gathers them within a
        # minute of a bulk change): without them the planner plans for the empty tables the
        # migrations made, and PostgreSQL's sweep took 2 s instead of about 0.1.
        connection.execute(text("ANALYZE"))
    engine.dispose()


def reset(engine: Engine, due: int) -> None:
    """Undo a sweep: the due tickets are due again and nothing was sent."""
    stamp = (NOW - timedelta(hours=5)).isoformat(sep=" ")
    with engine.begin() as connection:
        for table in ("event", "outbound_message", "sla_notification"):
            connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608  (fixed names)
        connection.execute(
            text("UPDATE ticket SET sla_check_at = :t WHERE id <= :due"), {"t": stamp, "due": due}
        )


def sweep_times(url: str, runs: int, due: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Milliseconds of `runs` sweeps finding `due` tickets due, and of `runs` finding none."""
    settings, _ = parse_settings(CONFIG.format(url=url), "bench", None, ENVIRONMENT)
    engine = make_engine(url)
    sessions = session_factory(engine)
    config = SlaConfig.from_settings(settings, b"bench")
    # The daemon sweeps every minute for as long as it runs; the first sweeps of a process
    # take two to four times as long (its statements compiled, caches filled): a median of
    # three would count one of them, so they are run first and not counted.
    for _ in range(WARM_UP):
        reset(engine, due)
        sweep(sessions, config, NOW)
    busy = []
    for _ in range(runs):
        reset(engine, due)
        started = time.perf_counter()
        sent = sweep(sessions, config, NOW)
        busy.append((time.perf_counter() - started) * 1000)
        if not sent:
            raise AssertionError(f"a sweep over {due} due tickets notified nobody")
    idle = []
    for _ in range(runs):
        started = time.perf_counter()
        sweep(sessions, config, NOW - timedelta(hours=1))
        idle.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return tuple(busy), tuple(idle)


def figures(scale: Scale, url: str, backend: str) -> list[Figure]:
    build(url, scale.sla_tickets, DUE)
    busy, idle = sweep_times(url, scale.runs, DUE)
    tickets = f"{scale.sla_tickets:,} open tickets"
    return [
        Figure(
            f"sla_{backend}",
            f"SLA sweep, {tickets}, {DUE} due ({backend})",
            "ms",
            busy,
            Target(TARGETS[backend], higher_is_better=False, if_missed=NOTE),
        ),
        Figure(
            f"sla_idle_{backend}",
            f"SLA sweep, {tickets}, none due ({backend})",
            "ms",
            idle,
        ),
    ]


def measure_sqlite(scale: Scale) -> list[Figure]:
    with tempfile.TemporaryDirectory(dir=scale.work) as directory:
        return figures(scale, f"sqlite:///{directory}/bench.db", "sqlite")


def measure_postgres(scale: Scale) -> list[Figure]:
    with postgres.fresh_database() as url:
        return figures(scale, url, "postgresql")
