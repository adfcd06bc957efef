"""Customer satisfaction (CSAT): the request after a ticket is resolved, the rating, thanks.

The request goes once per ticket, from queues that ask for it (`[[queue]] csat = true`), with
a reply address signed for the survey: the answer is read as a rating, recorded on the
ticket, never reopens it, and is thanked once; a later answer replaces the rating silently.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db.models import Contact, Event, EventKind, SatisfactionRating, Ticket
from mailtickets.mail.ratings import Rating
from mailtickets.mail.tokens import survey_token
from mailtickets.outbox.context import ticket_context
from mailtickets.outbox.enqueue import enqueue
from mailtickets.outbox.notices import reply_address
from mailtickets.services.tickets import record


def survey_address(secret: bytes, ticket: Ticket) -> str:
    """`<queue local>+csat.<ticket>.<sig>@<queue domain>`: where the customer rates."""
    local, _, domain = ticket.queue.address.partition("@")
    return f"{local}+{survey_token(secret, ticket.id)}@{domain}"


def request(session: Session, ticket: Ticket, *, secret: bytes, prefix: str, now: datetime) -> bool:
    """Ask the ticket's customer for a rating, once per ticket; False when not asked."""
    asked = session.scalar(
        select(Event.id)
        .where(Event.ticket_id == ticket.id, Event.kind == EventKind.SATISFACTION_REQUESTED)
        .limit(1)
    )
    customer = ticket.contact
    if asked is not None:
        return False
    if customer.suppressed_at is not None:
        why = f"address suppressed: {customer.suppressed_reason}"
        record(session, ticket, EventKind.SATISFACTION_WITHHELD, now, customer.address, why=why)
        return False
    context = ticket_context(session, ticket, prefix, reply_to=survey_address(secret, ticket))
    enqueue(
        session,
        template="customer/satisfaction_request",
        locale=customer.locale or ticket.queue.locale,
        recipients=[customer.address],
        ticket=ticket,
        context=context,
        now=now,
        secret=secret,
    )
    record(session, ticket, EventKind.SATISFACTION_REQUESTED, now, None, customer=customer.address)
    return True


def rate(session: Session, ticket: Ticket, contact: Contact, rating: Rating, now: datetime) -> bool:
    """Record `contact`'s rating of `ticket`; True when it is the ticket's first rating."""
    row = session.scalar(
        select(SatisfactionRating).where(SatisfactionRating.ticket_id == ticket.id)
    )
    first = row is None
    if row is None:
        row = SatisfactionRating(ticket_id=ticket.id)
        session.add(row)
    row.contact_id, row.rating, row.comment, row.rated_at = (
        contact.id,
        rating.score,
        rating.comment,
        now,
    )
    record(
        session,
        ticket,
        EventKind.SATISFACTION_RATED if first else EventKind.SATISFACTION_CHANGED,
        now,
        contact.address,
        rating=rating.score,
    )
    return first


def thank(
    session: Session,
    ticket: Ticket,
    contact: Contact,
    *,
    secret: bytes,
    prefix: str,
    now: datetime,
    in_reply_to: str | None,
) -> None:
    """Thank `contact` for a rating; an answer to the thanks is an ordinary follow-up."""
    context = ticket_context(
        session, ticket, prefix, reply_to=reply_address(secret, ticket, None, now)
    )
    enqueue(
        session,
        template="customer/satisfaction_thanks",
        locale=contact.locale or ticket.queue.locale,
        recipients=[contact.address],
        ticket=ticket,
        context=context,
        now=now,
        secret=secret,
        in_reply_to=in_reply_to,
    )
