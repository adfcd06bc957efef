"""The outbox for operators: what waits, what failed, and putting it back in line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db.models import OutboundMessage, OutboundStatus
from mailtickets.errors import NotFound


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def rows(session: Session, failed_only: bool = False) -> list[dict[str, Any]]:
    """Unsent and failed messages (sent ones are history, shown on their tickets)."""
    wanted = (
        [OutboundStatus.FAILED] if failed_only else [OutboundStatus.PENDING, OutboundStatus.FAILED]
    )
    query = select(OutboundMessage).where(OutboundMessage.status.in_(wanted))
    return [
        {
            "id": row.id,
            "ticket": row.ticket_id,
            "template": row.template,
            "recipients": row.recipients,
            "status": row.status.value,
            "attempts": row.attempts,
            "next_attempt_at": _iso(row.next_attempt_at),
            "created_at": _iso(row.created_at),
            "last_error": row.last_error,
            "message_id": row.message_id,
        }
        for row in session.scalars(query.order_by(OutboundMessage.id))
    ]


def retry(session: Session, outbound_id: int | None, now: datetime) -> int:
    """Put a failed message (or every one, for None) back in line; the count retried.

    The deadline counts from the retry, and the rendered bytes are kept, so the message
    goes out exactly as it would have.
    """
    query = select(OutboundMessage).where(OutboundMessage.status == OutboundStatus.FAILED)
    if outbound_id is not None:
        query = query.where(OutboundMessage.id == outbound_id)
    found = list(session.scalars(query))
    if outbound_id is not None and not found:
        raise NotFound(f"no failed outgoing message #{outbound_id}")
    for row in found:
        row.status, row.attempts, row.next_attempt_at = OutboundStatus.PENDING, 0, now
        row.created_at = now
    return len(found)
