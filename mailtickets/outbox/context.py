"""The variables every mail template receives, built from a ticket (see render.SAMPLE_CONTEXT)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db.models import Contact, Participant, SatisfactionRating, Ticket, TicketStatus
from mailtickets.mail.commands import HELP
from mailtickets.mail.subjects import tag
from mailtickets.outbox.attachments import NO_FILES

MAX_OPEN_TICKETS = 5
#: Enough of a rating's comment for an agent to see how the customer felt.
MAX_RATING_COMMENT = 200


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
    mailed, pending = mailed_and_pending(session, ticket)
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
        "last_rating": _last_rating(session, ticket),
        "agent": agent,
        "commands": list(HELP),
        "omitted_attachments": [],
        "files": NO_FILES.context(ticket.id),
        # The conversation so far, for an agent who has not seen it (outbox.history).
        "history": None,
        # Who an answer goes to, and who waits for an agent's `#cc add` (agents' notices).
        "recipients": {"to": mailed, "pending": pending},
    } | extra


def mailed_and_pending(session: Session, ticket: Ticket) -> tuple[list[str], list[str]]:
    """The addresses the ticket's answers go to, the customer first, and those listed as
    pending; read from the database, so a change earlier in this transaction is seen."""
    rows = session.execute(
        select(Contact.address, Participant.pending)
        .join(Contact, Participant.contact_id == Contact.id)
        .where(Participant.ticket_id == ticket.id)
        .order_by(Participant.role != "requester", Participant.id)
    ).all()
    return [a for a, pending in rows if not pending], [a for a, pending in rows if pending]


def _last_rating(session: Session, ticket: Ticket) -> dict[str, Any] | None:
    """The customer's latest satisfaction rating, of any of their tickets."""
    row = session.scalar(
        select(SatisfactionRating)
        .where(SatisfactionRating.contact_id == ticket.contact_id)
        .order_by(SatisfactionRating.rated_at.desc(), SatisfactionRating.id.desc())
        .limit(1)
    )
    if row is None:
        return None
    comment = " ".join((row.comment or "").split())
    if len(comment) > MAX_RATING_COMMENT:
        comment = comment[: MAX_RATING_COMMENT - 1] + "…"
    return {"ticket": row.ticket_id, "rating": row.rating, "comment": comment or None}
