"""`mailtickets import`: files through the same intake and pipeline as live mail, at once.

By default the messages are history (`Envelope.history`): the pipeline dates what they
change by their Date header and mails nobody. With `notify` they are processed as new mail.
Intake is idempotent, so importing the same files again, after an interruption or not,
processes only what was not processed yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from mailtickets.clock import Clock
from mailtickets.config.settings import IngestSettings
from mailtickets.db.models import InboundMessage, IntakeStatus
from mailtickets.ingest.intake import Envelope, accept
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import PipelineConfig
from mailtickets.pipeline.worker import claim, process

#: A message an earlier import (or the daemon) already took in and processed.
ALREADY_THERE = "already_there"

# How the summary names each outcome.
SUMMARY_LABELS = {
    Outcome.NEW_TICKET: "new tickets",
    Outcome.FOLLOW_UP: "follow-ups",
    Outcome.AGENT_REPLY: "agent replies",
    Outcome.SATISFACTION: "satisfaction ratings",
    Outcome.DUPLICATE: "duplicates",
    Outcome.AUTO_REPLY: "auto-replies",
    Outcome.BULK: "bulk",
    Outcome.BOUNCE: "bounces",
    Outcome.OWN_MAIL: "own mail",
    Outcome.QUARANTINED: "quarantined",
    Outcome.RETRY: "failed, will retry",
    ALREADY_THERE: "already there",
}


@dataclass(frozen=True)
class Importer:
    """What importing needs, fixed for one run of the command."""

    sessions: sessionmaker[Session]
    config: PipelineConfig
    settings: IngestSettings
    clock: Clock
    #: The queue for messages that carry no envelope recipient (`--queue`).
    queue: str | None
    #: Process as new mail (`--notify`) instead of as history.
    notify: bool
    #: Whose leases the import takes (`Duties.name`).
    holder: str

    def run(self, raw: bytes) -> str:
        """Accept and process one message now; return its outcome (a key of SUMMARY_LABELS)."""
        now = self.clock.now()
        envelope = Envelope(
            source="import",
            rcpt_to=(self.queue,) if self.queue else (),
            history=not self.notify,
        )
        accepted = accept(self.sessions, raw, envelope, now)
        # A row an interrupted import left pending is leased again here and processed.
        intake_id = claim(
            self.sessions, now, self.settings.retry_delay, accepted.id, holder=self.holder
        )
        if intake_id is None:
            return ALREADY_THERE if accepted.duplicate else self._stored_outcome(accepted.id)
        result = process(self.sessions, intake_id, self.config, now, self.settings.max_attempts)
        if result.status is IntakeStatus.PENDING:
            return Outcome.RETRY
        return result.outcome or Outcome.RETRY

    def _stored_outcome(self, intake_id: int) -> str:
        """The outcome of a row someone else (the daemon) processed meanwhile."""
        with self.sessions.begin() as session:
            row = session.get(InboundMessage, intake_id)
            return (row.outcome if row else None) or Outcome.RETRY
