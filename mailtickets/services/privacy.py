"""What the helpdesk holds about one person: hand it all over (export), or remove it (erase).

A person is an address: a contact, or only a sender of mail held before it became one. What
is theirs: the tickets they opened or joined,
the messages they wrote, the raw mail they sent (intake rows, including mail held in
quarantine), the mail we sent them (outbox rows, and files in the outbox maildir) and the
events that name them.

Erasure keeps what reports count — tickets with their queue, status, priority and times;
messages with their kind, direction and dates — and removes everything that says who they
are or what they wrote: address and name, subjects, texts, attachments and raw mail. The
contact row stays under a placeholder address so the tickets still count.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, delete, func, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mailtickets.db.models import (
    Attachment,
    Contact,
    Event,
    InboundMessage,
    Message,
    MessageKind,
    OutboundMessage,
    Participant,
    SatisfactionRating,
    Ticket,
)
from mailtickets.errors import NotFound
from mailtickets.mail.addresses import normalise
from mailtickets.services.mailfiles import remove_files

ERASED = "(erased)"
_OTHER_PEOPLES = (MessageKind.CUSTOMER, MessageKind.AUTO, MessageKind.BOUNCE)
_UNSAFE_NAME = re.compile(r"[^\w.-]+")


@dataclass(frozen=True)
class Exported:
    tickets: int
    messages: int
    raw_mails: int
    attachments: int


@dataclass(frozen=True)
class Erased:
    tickets: int
    messages: int
    raw_mails: int
    files: int


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


def _tickets(session: Session, person: Person) -> list[tuple[Ticket, str]]:
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


def _theirs(message: Message, person: Person) -> bool:
    by_contact = person.contact is not None and message.author_contact_id == person.contact.id
    return by_contact or message.from_address == person.address


def _intake_ids(
    session: Session, person: Person, messages: Iterable[Message], *, anywhere: bool
) -> set[int]:
    """The raw mail the person sent: their messages' intake rows, rows with their envelope
    sender, and rows with their address in the bytes — for an export only mail on no ticket
    (held, dropped), for an erasure any (a copy naming them is theirs to have removed)."""
    ids = {m.inbound_id for m in messages if m.inbound_id and _theirs(m, person)}
    ids |= set(
        session.scalars(
            select(InboundMessage.id).where(func.lower(InboundMessage.mail_from) == person.address)
        )
    )
    needle = person.address.encode()
    scanned = select(InboundMessage.id, InboundMessage.raw)
    if not anywhere:
        scanned = scanned.where(InboundMessage.ticket_id.is_(None))
    for intake_id, raw in session.execute(scanned.execution_options(yield_per=100)):
        if needle in raw.lower():
            ids.add(intake_id)
    return ids


def _sent_to(session: Session, person: Person) -> list[OutboundMessage]:
    candidates = session.scalars(
        select(OutboundMessage)
        .where(cast(OutboundMessage.recipients, Text).ilike(f"%{person.address}%"))
        .order_by(OutboundMessage.id)
    )
    return [o for o in candidates if person.address in (normalise(r) for r in o.recipients)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export(session: Session, address: str, target: Path) -> Exported:
    """Write a zip of everything about `address` to `target`: JSON and the raw mails."""
    person = find_person(session, address)
    partial = target.with_name(f".{target.name}.partial")
    counts = {"messages": 0, "attachments": 0}
    found = _tickets(session, person)
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        tickets = [
            _ticket_json(session, ticket, role, person, archive, counts) for ticket, role in found
        ]
        messages = [m for ticket, _ in found for m in ticket.messages]
        intake_ids = sorted(_intake_ids(session, person, messages, anywhere=False))
        for row in session.scalars(select(InboundMessage).where(InboundMessage.id.in_(intake_ids))):
            archive.writestr(f"received/{row.id}.eml", row.raw)
        sent = [o for o in _sent_to(session, person) if o.raw]
        for out in sent:
            archive.writestr(f"sent/{out.id}.eml", out.raw or b"")
        archive.writestr("contact.json", _json(_contact_json(person)))
        archive.writestr("tickets.json", _json(tickets))
    partial.replace(target)
    raw_mails = len(intake_ids) + len(sent)
    return Exported(len(tickets), counts["messages"], raw_mails, counts["attachments"])


def _json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _contact_json(person: Person) -> dict[str, Any]:
    contact = person.contact
    if contact is None:
        return {"address": person.address}
    return {
        "address": contact.address,
        "name": contact.name,
        "locale": contact.locale,
        "created_at": _iso(contact.created_at),
        "suppressed_at": _iso(contact.suppressed_at),
        "suppressed_reason": contact.suppressed_reason,
    }


def _ticket_json(
    session: Session,
    ticket: Ticket,
    role: str,
    person: Person,
    archive: zipfile.ZipFile,
    counts: dict[str, int],
) -> dict[str, Any]:
    messages = []
    for message in ticket.messages:
        # Another customer's mail on a shared ticket is theirs, not this person's.
        if message.kind in _OTHER_PEOPLES and not _theirs(message, person):
            continue
        counts["messages"] += 1
        messages.append(_message_json(message, archive, counts))
    events = session.scalars(
        select(Event).where(Event.ticket_id == ticket.id, Event.actor == person.address)
    )
    rating = _rating(session, ticket, person)
    return {
        "id": ticket.id,
        "role": role,
        "subject": ticket.subject,
        "queue": ticket.queue.address,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
        "resolved_at": _iso(ticket.resolved_at),
        "closed_at": _iso(ticket.closed_at),
        "tags": [t.name for t in ticket.tags],
        "messages": messages,
        "events": [{"at": _iso(e.at), "kind": e.kind, "data": e.data} for e in events],
        "satisfaction": None
        if rating is None
        else {"rating": rating.rating, "comment": rating.comment, "at": _iso(rating.rated_at)},
    }


def _rating(session: Session, ticket: Ticket, person: Person) -> SatisfactionRating | None:
    """The person's own rating of `ticket`, if they gave it."""
    if person.contact is None:
        return None
    return session.scalar(
        select(SatisfactionRating).where(
            SatisfactionRating.ticket_id == ticket.id,
            SatisfactionRating.contact_id == person.contact.id,
        )
    )


def _message_json(
    message: Message, archive: zipfile.ZipFile, counts: dict[str, int]
) -> dict[str, Any]:
    attachments = []
    for part in message.attachments:
        entry: dict[str, Any] = {
            "filename": part.filename,
            "content_type": part.content_type,
            "size": part.size,
            "omitted": part.omitted,
        }
        if part.content is not None:
            safe = _UNSAFE_NAME.sub("_", part.filename).strip("._") or "attachment"
            entry["file"] = f"attachments/{message.id}/{part.id}-{safe}"
            archive.writestr(entry["file"], part.content)
            counts["attachments"] += 1
        attachments.append(entry)
    return {
        "message_id": message.message_id,
        "direction": message.direction,
        "kind": message.kind.value,
        "from": message.from_address,
        "from_name": message.from_name,
        "subject": message.subject,
        "date": _iso(message.date or message.received_at),
        "body_text": message.body_text,
        "new_text": message.new_text,
        "attachments": attachments,
    }


def erase(session: Session, address: str, now: datetime, maildir: Path) -> Erased:
    """Remove the personal data of `address`; tickets and message rows stay, anonymous."""
    person = find_person(session, address)
    if session.get_bind().dialect.name == "sqlite":
        # Freed pages are zeroed, so the erased text does not linger in the database file.
        session.execute(text("PRAGMA secure_delete = ON"))
    name = person.contact.name if person.contact else None
    needles = [n for n in (person.address, name) if n and len(n) > 2]
    tickets = _tickets(session, person)
    opened = [t.id for t, role in tickets if role == "requester"]
    messages = _messages_to_blank(session, person, opened)
    intake_ids = _intake_ids(session, person, messages, anywhere=True)
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
    session.execute(delete(Attachment).where(Attachment.message_id == message.id))
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
