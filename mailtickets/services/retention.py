"""Purge raw mail older than `[retention] raw_messages`: a scheduled duty.

Raw mail is kept in three places: the bytes of each incoming message (intake rows), the
rendered bytes of each outgoing one (outbox rows), and files in the outbox maildir. Rows
stay, emptied, so intake stays idempotent (a redelivery is still known by its key) and
tickets keep their messages' text and attachments. Mail not yet processed or not yet sent
is never touched; a message still held in quarantine cannot be replayed without its bytes,
so it is discarded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.db.models import (
    InboundMessage,
    InboundRaw,
    IntakeStatus,
    OutboundMessage,
    OutboundStatus,
)
from mailtickets.outcomes import Outcome
from mailtickets.services.mailfiles import remove_files

log = logging.getLogger(__name__)

#: How often the duty runs; the age limit is in days, so an hour late is nothing.
EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class Purged:
    received: int
    discarded: int
    sent: int
    files: int

    @property
    def total(self) -> int:
        return self.received + self.discarded + self.sent + self.files


def _count(session: Session, statement: Any) -> int:
    return cast(CursorResult[Any], session.execute(statement)).rowcount or 0


def purge_raw(
    sessions: sessionmaker[Session], older_than: timedelta, now: datetime, maildir: Path
) -> Purged:
    """Empty the raw mail received or sent before `now - older_than`."""
    cutoff = now - older_than
    old = InboundMessage.received_at < cutoff
    with sessions.begin() as session:
        quarantined = select(InboundMessage.id).where(
            old, InboundMessage.status == IntakeStatus.QUARANTINED
        )
        session.execute(
            update(InboundRaw).where(InboundRaw.inbound_id.in_(quarantined)).values(raw=b"")
        )
        discarded = _count(
            session,
            update(InboundMessage)
            .where(old, InboundMessage.status == IntakeStatus.QUARANTINED)
            .values(status=IntakeStatus.DISCARDED, outcome=Outcome.PURGED, processed_at=now),
        )
        done = (IntakeStatus.DONE, IntakeStatus.DUPLICATE, IntakeStatus.DISCARDED)
        finished = select(InboundMessage.id).where(old, InboundMessage.status.in_(done))
        received = _count(
            session,
            update(InboundRaw)
            .where(InboundRaw.inbound_id.in_(finished), func.length(InboundRaw.raw) > 0)
            .values(raw=b""),
        )
        sent = _count(
            session,
            update(OutboundMessage)
            .where(
                OutboundMessage.created_at < cutoff,
                OutboundMessage.status.in_((OutboundStatus.SENT, OutboundStatus.FAILED)),
                OutboundMessage.raw.is_not(None),
            )
            .values(raw=None),
        )
    files = remove_files(maildir, lambda path: path.stat().st_mtime < cutoff.timestamp())
    purged = Purged(received, discarded, sent, files)
    if purged.total:
        log.info(
            "retention: purged raw mail before %s: %s received, %s quarantined (discarded), "
            "%s sent, %s maildir file(s)",
            cutoff.isoformat(),
            received,
            discarded,
            sent,
            files,
        )
    return purged
