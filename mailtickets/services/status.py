"""The state of the helpdesk at a glance, read from the database (works beside the daemon)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailtickets.db.models import (
    InboundMessage,
    IntakeStatus,
    MailboxCursor,
    OutboundMessage,
    OutboundStatus,
    Queue,
    Ticket,
    WebhookDelivery,
    WebhookStatus,
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def status(session: Session) -> dict[str, Any]:
    # .all(): a Result has keys() (its columns), which dict() would take for a mapping.
    intake = dict(
        session.execute(
            select(InboundMessage.status, func.count()).group_by(InboundMessage.status)
        ).all()
    )
    outbox = dict(
        session.execute(
            select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)
        ).all()
    )
    webhooks = dict(
        session.execute(
            select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
        ).all()
    )
    tickets: dict[str, dict[str, int]] = {}
    for queue, ticket_status, count in session.execute(
        select(Queue.address, Ticket.status, func.count())
        .join(Queue, Ticket.queue_id == Queue.id)
        .group_by(Queue.address, Ticket.status)
    ):
        tickets.setdefault(queue, {})[ticket_status.value] = count
    return {
        "intake": {s.value: intake.get(s, 0) for s in IntakeStatus},
        "last_received_at": _iso(session.scalar(select(func.max(InboundMessage.received_at)))),
        "last_processed_at": _iso(session.scalar(select(func.max(InboundMessage.processed_at)))),
        "outbox": {s.value: outbox.get(s, 0) for s in OutboundStatus},
        "last_sent_at": _iso(session.scalar(select(func.max(OutboundMessage.sent_at)))),
        "webhooks": {s.value: webhooks.get(s, 0) for s in WebhookStatus},
        "tickets": tickets,
        "mailboxes": [
            {
                "mailbox": cursor.mailbox,
                "folder": cursor.folder,
                "last_uid": cursor.last_uid,
                "updated_at": _iso(cursor.updated_at),
            }
            for cursor in session.scalars(select(MailboxCursor).order_by(MailboxCursor.id))
        ],
    }
