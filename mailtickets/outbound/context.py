"""The variables every mail template receives, built from a ticket (see render.SAMPLE_CONTEXT)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db.models import Ticket, TicketStatus
from mailtickets.mail.commands import HELP
from mailtickets.mail.subjects import tag

MAX_OPEN_TICKETS = 5


def ticket_context(
    session: Session,
    ticket: Ticket,
    prefix: str,
    *,
    author: str = "",
    new_text: str = "",
    agent: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    contact = ticket.contact
    others = session.scalars(
        select(Ticket)
        .where(
            Ticket.contact_id == contact.id,
            Ticket.id != ticket.id,
            Ticket.status.in_([TicketStatus.OPEN, TicketStatus.PENDING]),
        )
        .order_by(Ticket.id.desc())
        .limit(MAX_OPEN_TICKETS)
    )
    return {
        "ticket": {
            "id": ticket.id,
            "subject": ticket.subject,
            "status": ticket.status.value,
            "priority": ticket.priority.value,
            "tag": tag(prefix, ticket.id),
        },
        "queue": {"name": ticket.queue.name, "address": ticket.queue.address},
        "customer": {"name": contact.name, "address": contact.address, "locale": contact.locale},
        "message": {"author": author, "new_text": new_text},
        "open_tickets": [
            {"id": t.id, "subject": t.subject, "status": t.status.value} for t in others
        ],
        "agent": agent,
        "commands": list(HELP),
        "omitted_attachments": [],
    } | extra
