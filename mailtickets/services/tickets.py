"""The tickets service: the only code that creates or changes tickets.

Every change writes an `Event`, so a ticket's history says what happened, who did it and why.
A change of status or priority, and a merge, recompute the SLA clocks here, so that no caller
can forget to; an agent's first answer stamps the first response.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mailtickets.db.models import (
    Agent,
    Contact,
    Event,
    EventKind,
    Message,
    MessageKind,
    Participant,
    Priority,
    Queue,
    Tag,
    Ticket,
    TicketStatus,
)
from mailtickets.errors import NotFound
from mailtickets.mail.addresses import MAX_NAME
from mailtickets.outbox import webhooks
from mailtickets.services.sla.clocks import refresh
from mailtickets.services.sla.policy import SlaConfig

#: The subject of a ticket whose first mail had none.
NO_SUBJECT = "(no subject)"


def record(
    session: Session,
    ticket: Ticket,
    kind: EventKind,
    now: datetime,
    actor: str | None = None,
    **data: Any,
) -> Event:
    event = Event(ticket_id=ticket.id, at=now, kind=kind, actor=actor, data=data)
    session.add(event)
    webhooks.capture(session, ticket, event)  # in this transaction, like outgoing mail
    return event


def find(session: Session, ticket_id: int) -> Ticket:
    """The ticket numbered `ticket_id`; `NotFound` names it when there is none."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket #{ticket_id}")
    return ticket


def contact_for(
    session: Session,
    address: str,
    name: str | None,
    now: datetime,
    locale: Callable[[], str | None] | None = None,
) -> Contact:
    """The contact with `address`, created on first mail; a new display name replaces the old.
    A contact without a locale yet is given `locale()`'s, if that finds one."""
    contact = session.scalar(select(Contact).where(Contact.address == address))
    if contact is None:
        # Its locale in the same INSERT: no UPDATE of the row just written.
        row = {"address": address, "name": name, "locale": locale() if locale else None}
        contact = _new_contact(session, row | {"created_at": now, "updated_at": now})
        if contact is not None:
            return contact
        contact = session.scalars(select(Contact).where(Contact.address == address)).one()
    elif name and name != contact.name:
        contact.name, contact.updated_at = name[:MAX_NAME], now
    if contact.locale is None and locale is not None:
        contact.locale = locale()
    return contact


def _new_contact(session: Session, values: dict[str, Any]) -> Contact | None:
    """The contact inserted with `values`; None when another transaction inserted its
    address first. Two instances can take a new customer's first two mails at once: the
    second insert waits for the first, then does nothing. One statement, where a savepoint
    around an ORM insert, to survive the unique violation, took three."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(Contact)
        .values(values)
        .on_conflict_do_nothing(index_elements=[Contact.address])
        .returning(Contact)
    )
    return session.scalars(statement).one_or_none()


def open_ticket(
    session: Session,
    queue: Queue,
    contact: Contact,
    subject: str,
    now: datetime,
    *,
    linked_to: Ticket | None = None,
    why: dict[str, Any] | None = None,
    imported_at: datetime | None = None,
) -> Ticket:
    """A new open ticket; `imported_at` marks one opened by mail imported as history, which
    is dated `now` (when that mail was written) and keeps no SLA clock."""
    # The related rows too, not only their ids: the steps after this read them, and would
    # each load them again.
    ticket = Ticket(
        queue=queue,
        contact=contact,
        subject=subject or NO_SUBJECT,
        status=TicketStatus.OPEN,
        priority=Priority.NORMAL,
        created_at=now,
        updated_at=now,
        linked_ticket_id=linked_to.id if linked_to else None,
        imported_at=imported_at,
    )
    session.add(ticket)
    session.flush()
    # Nobody is on a ticket just made: its requester joins without asking who is.
    session.add(_participant(ticket, contact, "requester", now, pending=False))
    record(
        session,
        ticket,
        EventKind.CREATED,
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
    pending: bool = False,
    actor: str | None = None,
) -> bool:
    """Make `contact` receive the ticket's mail, or with `pending` be listed until an agent
    confirms them; False when it is already on the ticket. `actor` added them (by default
    themselves)."""
    exists = session.scalar(
        select(Participant.id).where(
            Participant.ticket_id == ticket.id, Participant.contact_id == contact.id
        )
    )
    if exists is not None:
        return False
    session.add(_participant(ticket, contact, role, now, pending=pending))
    if announce:
        kind = EventKind.PARTICIPANT_PENDING if pending else EventKind.PARTICIPANT_ADDED
        record(
            session, ticket, kind, now, actor or contact.address, role=role, address=contact.address
        )
    return True


def _participant(
    ticket: Ticket, contact: Contact, role: str, now: datetime, *, pending: bool
) -> Participant:
    return Participant(
        ticket_id=ticket.id, contact_id=contact.id, role=role, added_at=now, pending=pending
    )


def confirm_participant(
    session: Session, ticket: Ticket, address: str, now: datetime, actor: str | None
) -> bool:
    """A pending participant is mailed from now on; False when `address` is not pending."""
    row = participant(session, ticket, address)
    if row is None or not row.pending:
        return False
    row.pending = False
    record(session, ticket, EventKind.PARTICIPANT_CONFIRMED, now, actor, address=address)
    return True


def participant(session: Session, ticket: Ticket, address: str) -> Participant | None:
    """`address`'s place on the ticket, pending or not; None when it has none."""
    return session.scalar(
        select(Participant)
        .join(Contact, Participant.contact_id == Contact.id)
        .where(Participant.ticket_id == ticket.id, Contact.address == address)
    )


def is_participant(session: Session, ticket: Ticket, address: str) -> bool:
    query = (
        select(Participant.id)
        .join(Contact, Participant.contact_id == Contact.id)
        .where(Participant.ticket_id == ticket.id, Contact.address == address)
    )
    return session.scalar(query) is not None


def add_message(
    session: Session, ticket: Ticket, message: Message, now: datetime, **detail: Any
) -> Message:
    """Add `message` to `ticket`; its event carries `detail` (why it is automated, which
    threading rule matched it)."""
    message.ticket_id = ticket.id
    session.add(message)
    session.flush()
    # Mail imported as history may be older than the ticket's last change.
    ticket.updated_at = max(ticket.updated_at, now)
    if message.kind is MessageKind.AGENT and ticket.first_response_at is None:
        ticket.first_response_at = now
    record(
        session,
        ticket,
        EventKind.message(message.kind),
        now,
        message.from_address,
        message=message.id,
        message_id=message.message_id,
        **detail,
    )
    return message


def closed_too_long(ticket: Ticket, now: datetime, grace: timedelta) -> bool:
    """A customer writing to a ticket closed longer than `grace` ago gets a new one."""
    closed = ticket.status is TicketStatus.CLOSED and ticket.closed_at is not None
    return closed and ticket.closed_at is not None and now - ticket.closed_at > grace


def customer_wrote(
    session: Session, ticket: Ticket, now: datetime, actor: str, *, sla: SlaConfig
) -> None:
    """A customer's message puts a waiting, resolved or recently closed ticket back to open."""
    if ticket.status is TicketStatus.OPEN:
        return
    previous = ticket.status
    ticket.status, ticket.updated_at = TicketStatus.OPEN, now
    ticket.resolved_at = ticket.closed_at = None
    record(session, ticket, EventKind.REOPENED, now, actor, previous=previous.value)
    refresh(session, ticket, sla, now)


def set_status(
    session: Session,
    ticket: Ticket,
    status: TicketStatus,
    now: datetime,
    actor: str | None,
    *,
    sla: SlaConfig,
) -> None:
    """Change the status; the SLA clocks follow (waiting on the customer pauses them)."""
    if ticket.status is status:
        return
    previous = ticket.status
    ticket.status, ticket.updated_at = status, now
    if status is TicketStatus.RESOLVED:
        ticket.resolved_at = now
    elif status is TicketStatus.CLOSED:
        ticket.closed_at = now
    else:
        ticket.resolved_at = ticket.closed_at = None
    record(
        session, ticket, EventKind.STATUS, now, actor, status=status.value, previous=previous.value
    )
    refresh(session, ticket, sla, now)


def set_priority(
    session: Session,
    ticket: Ticket,
    priority: Priority,
    now: datetime,
    actor: str | None,
    *,
    sla: SlaConfig,
) -> None:
    """Change the priority; the due times follow its SLA budgets."""
    if ticket.priority is priority:
        return
    previous = ticket.priority
    ticket.priority, ticket.updated_at = priority, now
    record(
        session,
        ticket,
        EventKind.PRIORITY,
        now,
        actor,
        priority=priority.value,
        previous=previous.value,
    )
    refresh(session, ticket, sla, now)


def assign(
    session: Session, ticket: Ticket, agent: Agent | None, now: datetime, actor: str | None
) -> None:
    if ticket.assignee_id == (agent.id if agent else None):
        return
    ticket.assignee, ticket.updated_at = agent, now
    record(
        session, ticket, EventKind.ASSIGNED, now, actor, assignee=agent.address if agent else None
    )


def add_tag(session: Session, ticket: Ticket, name: str, now: datetime, actor: str | None) -> None:
    if any(tag.name == name for tag in ticket.tags):
        return
    ticket.tags.append(Tag(name=name))
    record(session, ticket, EventKind.TAGGED, now, actor, tag=name)


def remove_participant(
    session: Session, ticket: Ticket, address: str, now: datetime, actor: str | None
) -> bool:
    row = participant(session, ticket, address)
    if row is None or row.role == "requester":
        return False
    session.delete(row)
    record(session, ticket, EventKind.PARTICIPANT_REMOVED, now, actor, address=address)
    return True


def merge(
    session: Session,
    source: Ticket,
    target: Ticket,
    now: datetime,
    actor: str | None,
    *,
    sla: SlaConfig,
) -> None:
    """Move `source`'s conversation and participants to `target`, and close `source`.

    Mail that still threads to `source` follows `merged_into_id` to `target`.
    """
    if source.id == target.id:
        raise ValueError(f"ticket #{source.id} cannot be merged into itself")
    for message in list(source.messages):
        message.ticket_id = target.id
    for participant in list(source.participants):
        # A pending participant stays pending: a merge confirms nobody.
        add_participant(
            session,
            target,
            participant.contact,
            participant.role,
            now,
            pending=participant.pending,
            actor=actor,
        )
    source.merged_into_id = target.id
    set_status(session, source, TicketStatus.CLOSED, now, actor, sla=sla)
    record(session, source, EventKind.MERGED, now, actor, into=target.id)
    record(session, target, EventKind.MERGED_FROM, now, actor, source=source.id)
    target.updated_at = now
    session.flush()  # the target's clocks are read from the messages it now holds
    refresh(session, target, sla, now)


def follow_merges(session: Session, ticket: Ticket) -> Ticket:
    """The ticket mail to `ticket` belongs to now, following merges (a bounded chain)."""
    for _ in range(20):
        if ticket.merged_into_id is None:
            return ticket
        target = session.get(Ticket, ticket.merged_into_id)
        if target is None:
            return ticket
        ticket = target
    return ticket


def add_note(
    session: Session, ticket: Ticket, text: str, author: Agent | None, now: datetime
) -> Message:
    """An internal note written outside mail (the CLI); agents see it, customers never."""
    note = Message(
        message_id=f"note.{uuid.uuid4().hex}@mailtickets",
        direction="in",
        kind=MessageKind.NOTE,
        author_agent_id=author.id if author else None,
        from_address=author.address if author else None,
        from_name=author.name if author else None,
        subject=ticket.subject,
        date=now,
        received_at=now,
        body_text=text,
        new_text=text,
    )
    return add_message(session, ticket, note, now)
