"""The webhook outbox: one row per event and receiver, written in the event's transaction.

The event id is fixed when the rows are written, the same for every receiver and every
retry, so a receiver can drop what it already has. The body is built at the first attempt
and kept until the receiver takes it, so every retry sends the same bytes (only the signed
timestamp changes).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailtickets.db.base import Base, string_enum


class WebhookStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class WebhookDelivery(Base):
    __tablename__ = "webhook_delivery"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The event's UUID, as receivers see it in `id`.
    event_id: Mapped[str] = mapped_column(String(36), index=True)
    #: `[[webhook]] name`: whose row it is.
    receiver: Mapped[str] = mapped_column(String(100))
    #: The event name, e.g. `ticket.created`.
    type: Mapped[str] = mapped_column(String(50))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket.id", ondelete="SET NULL"), index=True
    )
    #: What the event says besides the ticket (`by`, `status`, `previous`, …).
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    status: Mapped[WebhookStatus] = mapped_column(string_enum(WebhookStatus))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    #: The request body, kept from the first attempt on so retries send the same bytes;
    #: dropped once the receiver took it.
    body: Mapped[str | None] = mapped_column(Text)
