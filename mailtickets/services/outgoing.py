"""The outbox for operators: what waits, what failed, and putting it back in line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db.models import HELD, OutboundMessage, OutboundStatus
from mailtickets.errors import NotFound
from mailtickets.services import contacts


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def rows(session: Session, failed_only: bool = False) -> list[dict[str, Any]]:
    """Unsent and failed messages (sent ones are history, shown on their tickets)."""
    wanted = (
        [OutboundStatus.FAILED] if failed_only else [OutboundStatus.PENDING, OutboundStatus.FAILED]
    )
    query = select(OutboundMessage).where(OutboundMessage.status.in_(wanted))
    return [view(row) for row in session.scalars(query.order_by(OutboundMessage.id))]


def show(session: Session, outbound_id: int) -> dict[str, Any]:
    """One outgoing message, whatever its state, with the headers it went out with."""
    row = session.get(OutboundMessage, outbound_id)
    if row is None:
        raise NotFound(f"no outgoing message #{outbound_id}")
    headers = None
    if row.raw is not None:
        head = row.raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        headers = head.decode("utf-8", "replace").replace("\r\n", "\n")
    return view(row) | {"locale": row.locale, "in_reply_to": row.in_reply_to, "headers": headers}


def view(row: OutboundMessage) -> dict[str, Any]:
    """An outgoing message for `outbox list` and `tickets show` (JSON field names are a
    contract: README "Commands")."""
    return {
        "id": row.id,
        "ticket": row.ticket_id,
        "template": row.template,
        "recipients": row.recipients,
        "status": row.status.value,
        "held": row.status is OutboundStatus.PENDING and (row.last_error or "").startswith(HELD),
        "attempts": row.attempts,
        "next_attempt_at": _iso(row.next_attempt_at),
        "created_at": _iso(row.created_at),
        "sent_at": _iso(row.sent_at),
        "last_error": row.last_error,
        "message_id": row.message_id,
    }


@dataclass(frozen=True)
class Retried:
    """What `retry` put back in line."""

    failed: int  # failed messages queued again
    waiting: int  # waiting messages (held, deferred) made due now
    #: Addresses whose suppression a relay's refusal about itself had caused, lifted.
    unsuppressed: list[str]


def retry(session: Session, outbound_id: int | None, now: datetime) -> Retried:
    """Send a failed or waiting message (or every one, for None) as soon as the daemon can.

    A failed message gets a fresh deadline from now; one that waits (held by the relay's
    refusal, deferred, backing off) is merely due now. The rendered bytes are kept, so the
    message goes out exactly as it would have. Suppressions a relay's refusal about itself
    caused are lifted for the recipients concerned, or they would fail again at once.
    """
    query = select(OutboundMessage).where(
        OutboundMessage.status.in_([OutboundStatus.FAILED, OutboundStatus.PENDING])
    )
    if outbound_id is not None:
        query = query.where(OutboundMessage.id == outbound_id)
    found = list(session.scalars(query))
    if outbound_id is not None and not found:
        raise NotFound(f"no failed or waiting outgoing message #{outbound_id}")
    failed = [row for row in found if row.status is OutboundStatus.FAILED]
    for row in found:
        row.next_attempt_at = now
    for row in failed:
        row.status, row.attempts, row.created_at = OutboundStatus.PENDING, 0, now
    addresses = None if outbound_id is None else {a for row in found for a in row.recipients}
    unsuppressed = contacts.lift_relay_refusals(session, now, among=addresses)
    return Retried(len(failed), len(found) - len(failed), unsuppressed)
