"""The outbox: mail to send, written in the same transaction as the event that causes it.

The Message-ID is fixed when the row is written, so every retry sends the same message and a
reply threads whether or not we ever learned that the relay accepted it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailtickets.db.base import Base, string_enum


class OutboundStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    #: An agent's answer held back by the collision check (`HeldReply`): never claimed.
    WITHHELD = "withheld"
    #: A withheld answer its agent discarded, or that expired: it will never be sent.
    DISCARDED = "discarded"


#: How `last_error` begins while a pending message waits because the relay refused it for
#: reasons of its own (policy, relaying, authentication): nobody's address is to blame.
HELD = "held: "


class OutboundMessage(Base):
    __tablename__ = "outbound_message"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket.id", ondelete="SET NULL"), index=True
    )
    #: `<audience>/<event>`, e.g. `customer/acknowledgement`; rendered from templates/.
    template: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(16))
    recipients: Mapped[list[str]]
    context: Mapped[dict[str, Any]]
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[str | None] = mapped_column(Text)
    status: Mapped[OutboundStatus] = mapped_column(string_enum(OutboundStatus))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    #: The rendered bytes, kept from the first attempt on so retries send the same message;
    #: without the files of `attachments`, which are added from their rows at each attempt.
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: The files this mail carries, by attachment id, e.g. `[{"id": 12, "inline": true,
    #: "cid": "…"}]` (inline: shown in the HTML as `cid:`); never their bytes. None: none.
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
