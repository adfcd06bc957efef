"""`mailtickets import`: files through the same intake and pipeline as live mail, at once."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from mailtickets.clock import Clock
from mailtickets.config.settings import IngestSettings
from mailtickets.db.models import InboundMessage, IntakeStatus
from mailtickets.ingest.intake import Envelope, accept
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import PipelineConfig
from mailtickets.pipeline.worker import claim, process

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
}


def import_message(
    sessions: sessionmaker[Session],
    raw: bytes,
    queue: str | None,
    config: PipelineConfig,
    settings: IngestSettings,
    clock: Clock,
    holder: str,
) -> str:
    """Accept and process one message now; return its outcome (a key of SUMMARY_LABELS)."""
    now = clock.now()
    envelope = Envelope(source="import", rcpt_to=(queue,) if queue else ())
    accepted = accept(sessions, raw, envelope, now)
    intake_id = claim(sessions, now, settings.retry_delay, accepted.id, holder=holder)
    if intake_id is None:
        # Already processed by an earlier import (or by the daemon): nothing new.
        return Outcome.DUPLICATE if accepted.duplicate else _stored_outcome(sessions, accepted.id)
    result = process(sessions, intake_id, config, now, settings.max_attempts)
    if result.status is IntakeStatus.PENDING:
        return Outcome.RETRY
    return result.outcome or Outcome.RETRY


def _stored_outcome(sessions: sessionmaker[Session], intake_id: int) -> str:
    with sessions.begin() as session:
        row = session.get(InboundMessage, intake_id)
        return (row.outcome if row else None) or Outcome.RETRY
