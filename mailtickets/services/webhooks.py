"""The webhook outbox for operators: what waits, what failed, and putting it back in line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db.models import WebhookDelivery, WebhookStatus
from mailtickets.errors import NotFound


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def rows(session: Session, failed_only: bool = False) -> list[dict[str, Any]]:
    """Undelivered and failed events, oldest first (delivered ones are history)."""
    wanted = (
        [WebhookStatus.FAILED] if failed_only else [WebhookStatus.PENDING, WebhookStatus.FAILED]
    )
    query = select(WebhookDelivery).where(WebhookDelivery.status.in_(wanted))
    return [view(row) for row in session.scalars(query.order_by(WebhookDelivery.id))]


def view(row: WebhookDelivery) -> dict[str, Any]:
    """One delivery for `webhooks list --json` (field names are a contract: README)."""
    return {
        "id": row.id,
        "event_id": row.event_id,
        "receiver": row.receiver,
        "type": row.type,
        "ticket": row.ticket_id,
        "status": row.status.value,
        "attempts": row.attempts,
        "next_attempt_at": _iso(row.next_attempt_at),
        "created_at": _iso(row.created_at),
        "sent_at": _iso(row.sent_at),
        "last_error": row.last_error,
    }


def retry(session: Session, delivery_id: int | None, now: datetime) -> tuple[int, int]:
    """Post a failed or waiting delivery (every one, for None) as soon as the daemon can;
    return how many failed and how many waiting ones were put back in line.

    A failed one gets a fresh deadline from now; the body it was built with is kept, so the
    receiver gets the event exactly as it would have.
    """
    query = select(WebhookDelivery).where(
        WebhookDelivery.status.in_([WebhookStatus.FAILED, WebhookStatus.PENDING])
    )
    if delivery_id is not None:
        query = query.where(WebhookDelivery.id == delivery_id)
    found = list(session.scalars(query))
    if delivery_id is not None and not found:
        raise NotFound(f"no failed or waiting webhook delivery #{delivery_id}")
    failed = [row for row in found if row.status is WebhookStatus.FAILED]
    for row in found:
        row.next_attempt_at = now
    for row in failed:
        row.status, row.attempts, row.created_at = WebhookStatus.PENDING, 0, now
    return len(failed), len(found) - len(failed)
