"""A customer's history: their tickets, which are open, how fast they were answered, and
how they rated us; for `contacts show` (JSON field names are a contract)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailtickets.db.models import Contact, SatisfactionRating, Ticket, TicketStatus
from mailtickets.errors import NotFound
from mailtickets.mail.addresses import normalise
from mailtickets.services.reports import median_minutes

OPEN = (TicketStatus.OPEN, TicketStatus.PENDING)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def contact_history(session: Session, address: str) -> dict[str, Any]:
    """Everything the helpdesk knows of how it served `address`, oldest ticket first."""
    contact = session.scalar(select(Contact).where(Contact.address == normalise(address)))
    if contact is None:
        raise NotFound(f"no contact {address}")
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.contact_id == contact.id)
        .options(selectinload(Ticket.queue))
        .order_by(Ticket.id)
    ).all()
    ratings = session.scalars(
        select(SatisfactionRating)
        .where(SatisfactionRating.contact_id == contact.id)
        .order_by(SatisfactionRating.rated_at, SatisfactionRating.id)
    ).all()
    rating_of = {r.ticket_id: r.rating for r in ratings}
    waits = [t.first_response_at - t.created_at for t in tickets if t.first_response_at]
    scores = [r.rating for r in ratings]
    return {
        "address": contact.address,
        "name": contact.name,
        "locale": contact.locale,
        "since": _iso(contact.created_at),
        "suppressed": contact.suppressed_reason if contact.suppressed_at else None,
        "open": sum(1 for t in tickets if t.status in OPEN),
        "median_first_response_minutes": median_minutes(waits),
        "average_rating": round(sum(scores) / len(scores), 2) if scores else None,
        "tickets": [
            {
                "id": t.id,
                "subject": t.subject,
                "status": t.status.value,
                "queue": t.queue.address,
                "created_at": _iso(t.created_at),
                "first_response_minutes": median_minutes(
                    [t.first_response_at - t.created_at] if t.first_response_at else []
                ),
                "rating": rating_of.get(t.id),
            }
            for t in tickets
        ],
        "ratings": [
            {
                "ticket": r.ticket_id,
                "rating": r.rating,
                "comment": r.comment,
                "rated_at": _iso(r.rated_at),
            }
            for r in ratings
        ],
    }
