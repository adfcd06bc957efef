"""The ingest worker: claims intake rows and runs the pipeline on each in its own transaction.

Rows are leased first (`mailtickets.db.lease`), so a message that crashes the whole process
is retried after its backoff, counts towards quarantine like any other failure, and never
blocks the rows behind it. Rows arriving in a flood are leased several at a time, retries
one at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from mailtickets.background import BackgroundLoop
from mailtickets.clock import Clock
from mailtickets.config.settings import IngestSettings
from mailtickets.db.lease import MAX_ERROR, lease, lease_batch, release
from mailtickets.db.models import InboundMessage, IntakeStatus
from mailtickets.errors import Quarantine
from mailtickets.outbox import webhooks
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import PipelineConfig
from mailtickets.pipeline.runner import Result, run_pipeline

log = logging.getLogger(__name__)

_DISCARDED = {Outcome.OWN_MAIL, Outcome.AUTO_REPLY, Outcome.BULK, Outcome.BOUNCE}
#: Rows leased in one transaction. Each is still processed in a transaction of its own; the
#: lease only saves a commit per message, and this many stay small next to the lease time.
BATCH = 16


@dataclass(frozen=True)
class Processed:
    intake_id: int
    status: IntakeStatus
    outcome: str | None
    ticket_id: int | None
    error: str | None
    received_at: datetime | None = None


def claim(
    sessions: sessionmaker[Session],
    now: datetime,
    retry_delay: timedelta,
    intake_id: int | None = None,
    *,
    holder: str,
) -> int | None:
    """Lease the oldest due pending intake row (or row `intake_id`) for `holder`."""
    return lease(sessions, InboundMessage, now, retry_delay, intake_id, holder=holder)


def process(
    sessions: sessionmaker[Session],
    intake_id: int,
    config: PipelineConfig,
    now: datetime,
    max_attempts: int,
) -> Processed:
    """Run the pipeline on a claimed row and record how it ended."""
    with sessions.begin() as session:
        # Locked while processed: another instance whose lease on it ran out skips it
        # (SKIP LOCKED) instead of doing the work a second time.
        row = session.get(InboundMessage, intake_id, with_for_update=True)
        if row is None:
            raise LookupError(f"no intake #{intake_id}")
        if row.status is not IntakeStatus.PENDING:  # finished by someone else meanwhile
            return Processed(
                row.id, row.status, row.outcome, row.ticket_id, row.last_error, row.received_at
            )
        release(session, row)
        if row.attempts > max_attempts:
            # Every earlier attempt ended with the process, not with an error: do not try again.
            _quarantine(
                row,
                f"{row.attempts - 1} attempts did not finish; the process "
                "stopped while processing it",
                now,
            )
            return Processed(row.id, row.status, row.outcome, None, row.last_error, row.received_at)
        try:
            with session.begin_nested(), webhooks.muted(session, when=row.history):
                result = run_pipeline(row, session, now, config)
        except Quarantine as verdict:
            _quarantine(row, str(verdict), now)
        except Exception as exc:  # one bad message must never stop the worker
            log.exception("intake #%s failed (attempt %s)", row.id, row.attempts)
            row.last_error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
            if row.attempts >= max_attempts:
                _quarantine(row, f"failed {row.attempts} times; last: {row.last_error}", now)
        else:
            row.outcome, row.processed_at, row.last_error = result.outcome, now, None
            row.status = _status(result)
        return Processed(
            row.id, row.status, row.outcome, row.ticket_id, row.last_error, row.received_at
        )


def _status(result: Result) -> IntakeStatus:
    if result.outcome == Outcome.DUPLICATE:
        return IntakeStatus.DUPLICATE
    if result.outcome in _DISCARDED and result.ticket is None:
        return IntakeStatus.DISCARDED
    return IntakeStatus.DONE


def _quarantine(row: InboundMessage, reason: str, now: datetime) -> None:
    log.warning("intake #%s quarantined: %s", row.id, reason)
    row.status, row.last_error = IntakeStatus.QUARANTINED, reason[:MAX_ERROR]
    row.outcome, row.processed_at = Outcome.QUARANTINED, now


class IngestWorker(BackgroundLoop):
    """A daemon part: a thread that processes intake rows as they arrive."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: PipelineConfig,
        settings: IngestSettings,
        clock: Clock,
        *,
        holder: str,
        after_message: Callable[[Processed], None] = lambda result: None,
    ) -> None:
        super().__init__("ingest worker", settings.poll_interval.total_seconds())
        self._sessions, self._config = sessions, config
        self._settings, self._clock = settings, clock
        #: Whose leases this worker takes: this instance's (`Duties.name`).
        self._holder = holder
        #: Called after each processed message (the outbox has rows to send; metrics).
        self._after_message = after_message

    def work_once(self) -> bool:
        """Process the due rows leased together (one, when retrying); False when none was."""
        leased = lease_batch(
            self._sessions,
            InboundMessage,
            self._clock.now(),
            self._settings.retry_delay,
            BATCH,
            holder=self._holder,
        )
        for intake_id in leased:
            self.heartbeat.beat()
            result = process(
                self._sessions,
                intake_id,
                self._config,
                self._clock.now(),
                self._settings.max_attempts,
            )
            self._after_message(result)
        return bool(leased)
