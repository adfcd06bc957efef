"""The ingest worker: claims intake rows and runs the pipeline on each in its own transaction.

Claiming is a short committed transaction that counts the attempt and leases the row until
its backoff expires. So a message that crashes the whole process is retried after the lease,
counts towards quarantine like any other failure, and never blocks the rows behind it. On
PostgreSQL, rows are claimed with SKIP LOCKED so several instances share the work.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.clock import Clock
from mailtickets.config.settings import IngestSettings
from mailtickets.db.models import InboundMessage, IntakeStatus
from mailtickets.pipeline.context import MessageContext, PipelineConfig, Quarantine
from mailtickets.pipeline.runner import run_pipeline

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
MAX_ERROR = 2000
_DISCARDED = {"own_mail", "auto_reply", "bulk", "bounce"}


@dataclass(frozen=True)
class Processed:
    intake_id: int
    status: IntakeStatus
    outcome: str | None
    ticket_id: int | None
    error: str | None


def backoff(first: timedelta, attempts: int) -> timedelta:
    """The wait after the `attempts`-th try: doubling from `first`, at most six hours."""
    doublings = min(max(attempts - 1, 0), 20)  # beyond 20 the cap applies anyway
    return min(first * (1 << doublings), MAX_BACKOFF)


def claim(
    sessions: sessionmaker[Session],
    now: datetime,
    retry_delay: timedelta,
    intake_id: int | None = None,
) -> int | None:
    """Lease the oldest due pending row (or row `intake_id`); None when there is none."""
    with sessions.begin() as session:
        query = select(InboundMessage).where(InboundMessage.status == IntakeStatus.PENDING)
        if intake_id is None:
            query = query.where(InboundMessage.next_attempt_at <= now)
            query = query.order_by(InboundMessage.id).limit(1)
        else:
            query = query.where(InboundMessage.id == intake_id)
        row = session.scalar(query.with_for_update(skip_locked=True))
        if row is None:
            return None
        row.attempts += 1
        row.next_attempt_at = now + backoff(retry_delay, row.attempts)
        return row.id


def process(
    sessions: sessionmaker[Session],
    intake_id: int,
    config: PipelineConfig,
    now: datetime,
    max_attempts: int,
) -> Processed:
    """Run the pipeline on a claimed row and record how it ended."""
    with sessions.begin() as session:
        row = session.get(InboundMessage, intake_id)
        if row is None or row.status is not IntakeStatus.PENDING:
            raise LookupError(f"intake #{intake_id} is not pending")
        ctx = MessageContext(row, session, now, config)
        try:
            with session.begin_nested():
                outcome = run_pipeline(ctx)
        except Quarantine as verdict:
            _quarantine(row, str(verdict), now)
        except Exception as exc:  # one bad message must never stop the worker
            log.exception("intake #%s failed (attempt %s)", row.id, row.attempts)
            row.last_error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
            if row.attempts >= max_attempts:
                _quarantine(row, f"failed {row.attempts} times; last: {row.last_error}", now)
        else:
            row.outcome, row.processed_at, row.last_error = outcome, now, None
            row.status = _status(outcome, ctx)
        return Processed(row.id, row.status, row.outcome, row.ticket_id, row.last_error)


def _status(outcome: str, ctx: MessageContext) -> IntakeStatus:
    if outcome == "duplicate":
        return IntakeStatus.DUPLICATE
    if outcome in _DISCARDED and ctx.ticket is None:
        return IntakeStatus.DISCARDED
    return IntakeStatus.DONE


def _quarantine(row: InboundMessage, reason: str, now: datetime) -> None:
    log.warning("intake #%s quarantined: %s", row.id, reason)
    row.status, row.last_error = IntakeStatus.QUARANTINED, reason[:MAX_ERROR]
    row.outcome, row.processed_at = "quarantined", now


class IngestWorker:
    """A daemon part: a thread that processes intake rows as they arrive."""

    name = "ingest worker"

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: PipelineConfig,
        settings: IngestSettings,
        clock: Clock,
    ) -> None:
        self._sessions, self._config, self._settings, self._clock = (
            sessions,
            config,
            settings,
            clock,
        )
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)

    def wake(self) -> None:
        """Called by the edges after each accept: process it now, not at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        self._thread.start()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        poll = self._settings.poll_interval.total_seconds()
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                busy = self.work_once()
            except Exception:  # the database may be away: say so, wait, try again
                log.exception("ingest worker cannot reach the database")
                busy = False
            if not busy:
                self._wake.wait(poll)

    def work_once(self) -> bool:
        """Process one due row; False when there was none."""
        now = self._clock.now()
        intake_id = claim(self._sessions, now, self._settings.retry_delay)
        if intake_id is None:
            return False
        process(self._sessions, intake_id, self._config, now, self._settings.max_attempts)
        return True
