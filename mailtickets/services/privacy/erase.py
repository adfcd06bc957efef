"""Erasure: remove what says who a person is or what they wrote, keep what reports count."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, delete, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mailtickets.db import files
from mailtickets.db.models import (
    Contact,
    Event,
    InboundMessage,
    Message,
    NoticeTally,
    OutboundMessage,
    Participant,
    SatisfactionRating,
    Ticket,
    WebhookDelivery,
)
from mailtickets.services.mailfiles import remove_files
from mailtickets.services.privacy.person import Person, find_person, raw_mail_ids, tickets_of

ERASED = "(erased)"


@dataclass(frozen=True)
class Erased:
    tickets: int
    messages: int
    raw_mails: int
    files: int


def erase(session: Session, address: str, now: datetime, maildir: Path) -> Erased:
    """Remove the personal data of `address`; tickets and message rows stay, anonymous."""
    person = find_person(session, address)
    if session.get_bind().dialect.name == "sqlite":
        # Freed pages are zeroed, so the erased text does not linger in the database file.
        session.execute(text("PRAGMA secure_delete = ON"))
    name = person.contact.name if person.contact else None
    needles = [n for n in (person.address, name) if n and len(n) > 2]
    tickets = tickets_of(session, person)
    opened = [t.id for t, role in tickets if role == "requester"]
    messages = _messages_to_blank(session, person, opened)
    intake_ids = raw_mail_ids(session, person, messages, anywhere=True)
    intake_ids |= {m.inbound_id for m in messages if m.inbound_id}
    intake_ids |= set(
        session.scalars(select(InboundMessage.id).where(InboundMessage.ticket_id.in_(opened)))
    )
    sent_ids = _outbound_to_delete(session, person, opened)
    for message in messages:
        _blank(session, message)
    _delete_intake(session, intake_ids)
    message_ids = _delete_outbound(session, sent_ids)
    session.execute(
        update(Ticket).where(Ticket.id.in_(opened)).values(subject=ERASED, updated_at=now)
    )
    _scrub_events(session, person, [t.id for t, _ in tickets], needles)
    # The hour's count of their mail names them; a flood summary must not name them later.
    session.execute(delete(NoticeTally).where(NoticeTally.source == person.address))
    _delete_webhook_events(session, person, [t.id for t, _ in tickets])
    if person.contact is not None:
        session.execute(
            delete(Participant).where(
                Participant.contact_id == person.contact.id, Participant.ticket_id.not_in(opened)
            )
        )
        # The score still counts in reports; the words were theirs.
        session.execute(
            update(SatisfactionRating)
            .where(SatisfactionRating.contact_id == person.contact.id)
            .values(comment=None)
        )
        _anonymise(person.contact, now)
    session.flush()
    files = remove_files(maildir, lambda path: _mentions(path, person.address, message_ids))
    return Erased(len(opened), len(messages), len(intake_ids) + len(sent_ids), files)


def _delete_intake(session: Session, ids: Iterable[int]) -> None:
    doomed = sorted(ids)
    session.execute(update(Message).where(Message.inbound_id.in_(doomed)).values(inbound_id=None))
    session.execute(delete(InboundMessage).where(InboundMessage.id.in_(doomed)))


def _delete_outbound(session: Session, ids: Iterable[int]) -> set[str]:
    """Delete the outbox rows; return their Message-IDs, to find their copies in files."""
    doomed = sorted(ids)
    message_ids = set(
        session.scalars(select(OutboundMessage.message_id).where(OutboundMessage.id.in_(doomed)))
    )
    session.execute(update(Message).where(Message.outbound_id.in_(doomed)).values(outbound_id=None))
    session.execute(delete(OutboundMessage).where(OutboundMessage.id.in_(doomed)))
    return message_ids


def _delete_webhook_events(session: Session, person: Person, ticket_ids: list[int]) -> None:
    """Webhook events about their tickets or naming them, posted or not: a body holds the
    whole ticket, and one not yet posted would carry them out after the erasure."""
    pattern = f"%{person.address}%"
    session.execute(
        delete(WebhookDelivery).where(
            or_(
                WebhookDelivery.ticket_id.in_(ticket_ids),
                cast(WebhookDelivery.data, Text).ilike(pattern),
                WebhookDelivery.body.ilike(pattern),
            )
        )
    )


def release_freed_pages(engine: Engine) -> None:
    """After an erasure on SQLite: fold the write-ahead log into the database and empty it,
    so no older copy of an erased page survives in it (a reader may delay this)."""
    if engine.dialect.name != "sqlite":
        return
    # On the driver's connection: a checkpoint cannot run inside the transaction that
    # SQLAlchemy would begin around it.
    connection = engine.raw_connection()
    try:
        connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
    finally:
        connection.close()


def _messages_to_blank(session: Session, person: Person, opened: list[int]) -> list[Message]:
    """Every message on the tickets they opened; elsewhere, theirs and those naming them."""
    pattern = f"%{person.address}%"
    conditions = [
        Message.ticket_id.in_(opened),
        Message.from_address == person.address,
        Message.body_text.ilike(pattern),
        Message.subject.ilike(pattern),
    ]
    if person.contact is not None:
        conditions.append(Message.author_contact_id == person.contact.id)
    return list(session.scalars(select(Message).where(or_(*conditions))))


def _outbound_to_delete(session: Session, person: Person, opened: list[int]) -> set[int]:
    """Mail about their tickets, to them, or quoting them (agents' notices)."""
    pattern = f"%{person.address}%"
    return set(
        session.scalars(
            select(OutboundMessage.id).where(
                or_(
                    OutboundMessage.ticket_id.in_(opened),
                    cast(OutboundMessage.recipients, Text).ilike(pattern),
                    cast(OutboundMessage.context, Text).ilike(pattern),
                )
            )
        )
    )


def _blank(session: Session, message: Message) -> None:
    files.discard(session, message.id)
    message.message_id = f"erased.{message.id}@mailtickets.invalid"
    message.subject = message.body_text = message.new_text = ""
    message.from_address = message.from_name = None


def _scrub_events(
    session: Session, person: Person, ticket_ids: list[int], needles: list[str]
) -> None:
    events = session.scalars(
        select(Event).where(
            or_(
                Event.ticket_id.in_(ticket_ids),
                Event.actor == person.address,
                cast(Event.data, Text).ilike(f"%{person.address}%"),
            )
        )
    )
    for event in events:
        if event.actor == person.address:
            event.actor = None
        event.data = _scrubbed(event.data, needles)


def _scrubbed(value: Any, needles: list[str]) -> Any:
    if isinstance(value, str):
        for needle in needles:
            value = re.sub(re.escape(needle), ERASED, value, flags=re.IGNORECASE)
        return value
    if isinstance(value, dict):
        return {k: _scrubbed(v, needles) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, needles) for v in value]
    return value


def _anonymise(contact: Contact, now: datetime) -> None:
    contact.address = f"erased-{contact.id}@erased.invalid"
    contact.name = contact.locale = None
    contact.suppressed_at = contact.suppressed_reason = None
    contact.soft_bounces, contact.updated_at = 0, now


def _mentions(path: Path, address: str, message_ids: set[str]) -> bool:
    raw = path.read_bytes()
    if address.encode() in raw.lower():
        return True
    return any(f"<{m}>".encode() in raw for m in message_ids)
