"""The tickets service: the only code that creates or changes tickets. Every change writes an
`Event`, so a ticket's history says what happened, who did it and why."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db.models import (
    Contact,
    Event,
    Message,
    Participant,
    Priority,
    Queue,
    Ticket,
    TicketStatus,
)
from mailtickets.mail.parse import MAX_NAME


def record(
    session: Session,
    ticket: Ticket,
    kind: str,
    now: datetime,
    actor: str | None = None,
    **data: Any,
) -> Event:
    event = Event(ticket_id=ticket.id, at=now, kind=kind, actor=actor, data=data)
    session.add(event)
    return event


def contact_for(session: Session, address: str, name: str | None, now: datetime) -> Contact:
    """The contact with `address`, created on first mail; a new display name replaces the old."""
    contact = session.scalar(select(Contact).where(Contact.address == address))
    if contact is None:
        contact = Contact(address=address, name=name, created_at=now, updated_at=now)
        session.add(contact)
        session.flush()
    elif name and name != contact.name:
        contact.name, contact.updated_at = name[:MAX_NAME], now
    return contact


def open_ticket(
    session: Session,
    queue: Queue,
    contact: Contact,
    subject: str,
    now: datetime,
    *,
    linked_to: Ticket | None = None,
    why: dict[str, Any] | None = None,
) -> Ticket:
    ticket = Ticket(
        queue_id=queue.id,
        contact_id=contact.id,
        subject=subject or "(no subject)",
        status=TicketStatus.OPEN,
        priority=Priority.NORMAL,
        created_at=now,
        updated_at=now,
        linked_ticket_id=linked_to.id if linked_to else None,
    )
    session.add(ticket)
    session.flush()
    add_participant(session, ticket, contact, "requester", now, announce=False)
    record(
        session,
        ticket,
        "created",
        now,
        contact.address,
        queue=queue.address,
        linked_to=linked_to.id if linked_to else None,
        **(why or {}),
    )
    return ticket


def add_participant(
    session: Session,
    ticket: Ticket,
    contact: Contact,
    role: str,
    now: datetime,
    *,
    announce: bool = True,
) -> bool:
    """Make `contact` receive the ticket's mail; False when it already does."""
    exists = session.scalar(
        select(Participant.id).where(
            Participant.ticket_id == ticket.id, Participant.contact_id == contact.id
        )
    )
    if exists is not None:
        return False
    session.add(Participant(ticket_id=ticket.id, contact_id=contact.id, role=role, added_at=now))
    if announce:
        record(session, ticket, "participant_added", now, contact.address, role=role)
    return True


def is_participant(session: Session, ticket: Ticket, address: str) -> bool:
    query = (
        select(Participant.id)
        .join(Contact, Participant.contact_id == Contact.id)
        .where(Participant.ticket_id == ticket.id, Contact.address == address)
    )
    return session.scalar(query) is not None


def add_message(session: Session, ticket: Ticket, message: Message, now: datetime) -> Message:
    message.ticket_id = ticket.id
    session.add(message)
    session.flush()
    ticket.updated_at = now
    record(
        session,
        ticket,
        f"message_{message.kind.value}",
        now,
        message.from_address,
        message=message.id,
        message_id=message.message_id,
    )
    return message


def closed_too_long(ticket: Ticket, now: datetime, grace: timedelta) -> bool:
    """A customer writing to a ticket closed longer than `grace` ago gets a new one."""
    closed = ticket.status is TicketStatus.CLOSED and ticket.closed_at is not None
    return closed and ticket.closed_at is not None and now - ticket.closed_at > grace


def customer_wrote(session: Session, ticket: Ticket, now: datetime, actor: str) -> None:
    """A customer's message puts a waiting, resolved or recently closed ticket back to open."""
    if ticket.status is TicketStatus.OPEN:
        return
    previous = ticket.status
    ticket.status, ticket.updated_at = TicketStatus.OPEN, now
    ticket.resolved_at = ticket.closed_at = None
    record(session, ticket, "reopened", now, actor, previous=previous.value)
