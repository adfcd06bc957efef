"""Who a person is to the helpdesk, and what of its data is theirs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.orm import Session

from mailtickets.db.models import (
    Contact,
    InboundMessage,
    InboundRaw,
    Message,
    MessageKind,
    OutboundMessage,
    Participant,
    Ticket,
)
from mailtickets.errors import NotFound
from mailtickets.mail.addresses import normalise

#: Mail that others wrote on a ticket the person shares: not theirs to export or erase.
OTHER_PEOPLES = (MessageKind.CUSTOMER, MessageKind.AUTO, MessageKind.BOUNCE)


@dataclass(frozen=True)
class Person:
    """An address, and its contact unless all we have from it was held before one was made
    (spam is quarantined before the sender becomes a contact)."""

    address: str
    contact: Contact | None


def find_person(session: Session, address: str) -> Person:
    address = normalise(address)
    contact = session.scalar(select(Contact).where(Contact.address == address))
    if contact is None:
        sent = select(InboundMessage.id).where(func.lower(InboundMessage.mail_from) == address)
        if session.scalar(sent.limit(1)) is None:
            raise NotFound(f"no contact {address} and no mail from it")
    return Person(address, contact)


def tickets_of(session: Session, person: Person) -> list[tuple[Ticket, str]]:
    """The tickets the person opened or joined, with their role on each."""
    if person.contact is None:
        return []
    contact_id = person.contact.id
    joined = select(Participant.ticket_id).where(Participant.contact_id == contact_id)
    found = session.scalars(
        select(Ticket)
        .where(or_(Ticket.contact_id == contact_id, Ticket.id.in_(joined)))
        .order_by(Ticket.id)
    )
    return [(t, "requester" if t.contact_id == contact_id else "participant") for t in found]


def theirs(message: Message, person: Person) -> bool:
    by_contact = person.contact is not None and message.author_contact_id == person.contact.id
    return by_contact or message.from_address == person.address


def raw_mail_ids(
    session: Session, person: Person, messages: Iterable[Message], *, anywhere: bool
) -> set[int]:
    """The raw mail the person sent: their messages' intake rows, rows with their envelope
    sender, and rows with their address in the bytes — for an export only mail on no ticket
    (held, dropped), for an erasure any (a copy naming them is theirs to have removed)."""
    ids = {m.inbound_id for m in messages if m.inbound_id and theirs(m, person)}
    ids |= set(
        session.scalars(
            select(InboundMessage.id).where(func.lower(InboundMessage.mail_from) == person.address)
        )
    )
    needle = person.address.encode()
    scanned = select(InboundMessage.id, InboundRaw.raw).join(
        InboundRaw, InboundRaw.inbound_id == InboundMessage.id
    )
    if not anywhere:
        scanned = scanned.where(InboundMessage.ticket_id.is_(None))
    for intake_id, raw in session.execute(scanned.execution_options(yield_per=100)):
        if needle in raw.lower():
            ids.add(intake_id)
    return ids


def sent_to(session: Session, person: Person) -> list[OutboundMessage]:
    candidates = session.scalars(
        select(OutboundMessage)
        .where(cast(OutboundMessage.recipients, Text).ilike(f"%{person.address}%"))
        .order_by(OutboundMessage.id)
    )
    return [o for o in candidates if person.address in (normalise(r) for r in o.recipients)]


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
