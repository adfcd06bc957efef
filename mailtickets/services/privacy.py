"""What the helpdesk holds about one person: hand it all over (export), or remove it (erase).

A person is a contact, found by address. What is theirs: the tickets they opened or joined,
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


def find_contact(session: Session, address: str) -> Contact:
    contact = session.scalar(select(Contact).where(Contact.address == normalise(address)))
    if contact is None:
        raise NotFound(f"no contact {address}")
    return contact


def _tickets(session: Session, contact: Contact) -> list[tuple[Ticket, str]]:
    """The tickets the contact opened or joined, with their role on each."""
    joined = select(Participant.ticket_id).where(Participant.contact_id == contact.id)
    found = session.scalars(
        select(Ticket)
        .where(or_(Ticket.contact_id == contact.id, Ticket.id.in_(joined)))
        .order_by(Ticket.id)
    )
    return [(t, "requester" if t.contact_id == contact.id else "participant") for t in found]


def _theirs(message: Message, contact: Contact) -> bool:
    return message.author_contact_id == contact.id or message.from_address == contact.address


def _intake_ids(
    session: Session, contact: Contact, messages: Iterable[Message], *, anywhere: bool
) -> set[int]:
    """The raw mail the contact sent: their messages' intake rows, rows with their envelope
    sender, and rows with their address in the bytes — for an export only mail on no ticket
    (held, dropped), for an erasure any (a copy naming them is theirs to have removed)."""
    ids = {m.inbound_id for m in messages if m.inbound_id and _theirs(m, contact)}
    ids |= set(
        session.scalars(
            select(InboundMessage.id).where(func.lower(InboundMessage.mail_from) == contact.address)
        )
    )
    needle = contact.address.encode()
    scanned = select(InboundMessage.id, InboundMessage.raw)
    if not anywhere:
        scanned = scanned.where(InboundMessage.ticket_id.is_(None))
    for intake_id, raw in session.execute(scanned.execution_options(yield_per=100)):
        if needle in raw.lower():
            ids.add(intake_id)
    return ids


def _sent_to(session: Session, contact: Contact) -> list[OutboundMessage]:
    candidates = session.scalars(
        select(OutboundMessage)
        .where(cast(OutboundMessage.recipients, Text).ilike(f"%{contact.address}%"))
        .order_by(OutboundMessage.id)
    )
    return [o for o in candidates if contact.address in (normalise(r) for r in o.recipients)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export(session: Session, address: str, target: Path) -> Exported:
    """Write a zip of everything about `address` to `target`: JSON and the raw mails."""
    contact = find_contact(session, address)
    partial = target.with_name(f".{target.name}.partial")
    counts = {"messages": 0, "attachments": 0}
    found = _tickets(session, contact)
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        tickets = [
            _ticket_json(session, ticket, role, contact, archive, counts) for ticket, role in found
        ]
        messages = [m for ticket, _ in found for m in ticket.messages]
        intake_ids = sorted(_intake_ids(session, contact, messages, anywhere=False))
        for row in session.scalars(select(InboundMessage).where(InboundMessage.id.in_(intake_ids))):
            archive.writestr(f"received/{row.id}.eml", row.raw)
        sent = [o for o in _sent_to(session, contact) if o.raw]
        for out in sent:
            archive.writestr(f"sent/{out.id}.eml", out.raw or b"")
        archive.writestr("contact.json", _json(_contact_json(contact)))
        archive.writestr("tickets.json", _json(tickets))
    partial.replace(target)
    raw_mails = len(intake_ids) + len(sent)
    return Exported(len(tickets), counts["messages"], raw_mails, counts["attachments"])


def _json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _contact_json(contact: Contact) -> dict[str, Any]:
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
    contact: Contact,
    archive: zipfile.ZipFile,
    counts: dict[str, int],
) -> dict[str, Any]:
    messages = []
    for message in ticket.messages:
        # Another customer's mail on a shared ticket is theirs, not this person's.
        if message.kind in _OTHER_PEOPLES and not _theirs(message, contact):
            continue
        counts["messages"] += 1
        messages.append(_message_json(message, archive, counts))
    events = session.scalars(
        select(Event).where(Event.ticket_id == ticket.id, Event.actor == contact.address)
    )
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
    }


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
    contact = find_contact(session, address)
    if session.get_bind().dialect.name == "sqlite":
        # Freed pages are zeroed, so the erased text does not linger in the database file.
        session.execute(text("PRAGMA secure_delete = ON"))
    needles = [n for n in (contact.address, contact.name) if n and len(n) > 2]
    tickets = _tickets(session, contact)
    opened = [t for t, role in tickets if role == "requester"]
    messages = _messages_to_blank(session, contact, [t.id for t in opened])
    intake_ids = _intake_ids(session, contact, messages, anywhere=True)
    intake_ids |= {m.inbound_id for m in messages if m.inbound_id}
    intake_ids |= set(
        session.scalars(
            select(InboundMessage.id).where(InboundMessage.ticket_id.in_([t.id for t in opened]))
        )
    )
    sent_ids = sorted(_outbound_to_delete(session, contact, [t.id for t in opened]))
    for message in messages:
        _blank(session, message)
    doomed = sorted(intake_ids)
    session.execute(update(Message).where(Message.inbound_id.in_(doomed)).values(inbound_id=None))
    session.execute(delete(InboundMessage).where(InboundMessage.id.in_(doomed)))
    message_ids = set(
        session.scalars(select(OutboundMessage.message_id).where(OutboundMessage.id.in_(sent_ids)))
    )
    session.execute(
        update(Message).where(Message.outbound_id.in_(sent_ids)).values(outbound_id=None)
    )
    session.execute(delete(OutboundMessage).where(OutboundMessage.id.in_(sent_ids)))
    for ticket in opened:
        ticket.subject, ticket.updated_at = ERASED, now
    session.execute(
        delete(Participant).where(
            Participant.contact_id == contact.id,
            Participant.ticket_id.not_in([t.id for t in opened]),
        )
    )
    _scrub_events(session, contact, [t.id for t, _ in tickets], needles)
    _anonymise(contact, now)
    session.flush()
    files = remove_files(maildir, lambda path: _mentions(path, contact.address, message_ids))
    return Erased(len(opened), len(messages), len(intake_ids) + len(sent_ids), files)


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


def _messages_to_blank(session: Session, contact: Contact, opened: list[int]) -> list[Message]:
    """Every message on the tickets they opened; elsewhere, theirs and those naming them."""
    pattern = f"%{contact.address}%"
    return list(
        session.scalars(
            select(Message).where(
                or_(
                    Message.ticket_id.in_(opened),
                    Message.author_contact_id == contact.id,
                    Message.from_address == contact.address,
                    Message.body_text.ilike(pattern),
                    Message.subject.ilike(pattern),
                )
            )
        )
    )


def _outbound_to_delete(session: Session, contact: Contact, opened: list[int]) -> set[int]:
    """Mail about their tickets, to them, or quoting them (agents' notices)."""
    pattern = f"%{contact.address}%"
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
    session: Session, contact: Contact, ticket_ids: list[int], needles: list[str]
) -> None:
    events = session.scalars(
        select(Event).where(
            or_(
                Event.ticket_id.in_(ticket_ids),
                Event.actor == contact.address,
                cast(Event.data, Text).ilike(f"%{contact.address}%"),
            )
        )
    )
    for event in events:
        if event.actor == contact.address:
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
