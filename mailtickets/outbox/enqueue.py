"""Enqueue outgoing mail as a row in the same transaction as the event that causes it.

The Message-ID is fixed here, signed with the ticket it belongs to, so a reply threads even
before (or without) the message being rendered and sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mailtickets.db.models import OutboundMessage, OutboundStatus, Ticket
from mailtickets.mail.tokens import message_id


def enqueue(
    session: Session,
    *,
    template: str,
    locale: str,
    recipients: Sequence[str],
    ticket: Ticket | None,
    context: dict[str, Any],
    now: datetime,
    secret: bytes,
    domain: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    attachments: list[dict[str, Any]] | None = None,
) -> OutboundMessage:
    """An outbox row; its Message-ID is on `domain`, by default the ticket's queue's.

    `attachments` names the files it carries by attachment id (`outbox.attachments`).
    """
    row = OutboundMessage(
        **outbound_row(
            template=template,
            locale=locale,
            recipients=recipients,
            ticket=ticket,
            context=context,
            now=now,
            secret=secret,
            domain=domain,
            in_reply_to=in_reply_to,
            references=references,
            attachments=attachments,
        )
    )
    session.add(row)
    return row


def outbound_row(
    *,
    template: str,
    locale: str,
    recipients: Sequence[str],
    ticket: Ticket | None,
    context: dict[str, Any],
    now: datetime,
    secret: bytes,
    domain: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The columns of `enqueue`'s row, for a caller that inserts many in one statement."""
    if domain is None:
        if ticket is None:
            raise ValueError(f"mail {template!r} about no ticket needs a domain")
        domain = ticket.queue.address.rpartition("@")[2]
    return {
        "ticket_id": ticket.id if ticket else None,
        "template": template,
        "locale": locale,
        "recipients": list(recipients),
        "context": context,
        "message_id": message_id(secret, domain, ticket.id if ticket else None),
        "in_reply_to": in_reply_to,
        "references": " ".join(f"<{r}>" for r in references[-20:]) or None,
        "status": OutboundStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "attachments": attachments,
    }
