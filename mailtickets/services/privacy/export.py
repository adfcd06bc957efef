"""Export: everything the helpdesk holds about a person, in one zip file."""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db import files
from mailtickets.db.models import Event, InboundMessage, Message, SatisfactionRating, Ticket
from mailtickets.services.privacy.person import (
    OTHER_PEOPLES,
    Person,
    find_person,
    iso,
    raw_mail_ids,
    sent_to,
    theirs,
    tickets_of,
)

_UNSAFE_NAME = re.compile(r"[^\w.-]+")


@dataclass(frozen=True)
class Exported:
    tickets: int
    messages: int
    raw_mails: int
    attachments: int


def export(session: Session, address: str, target: Path) -> Exported:
    """Write a zip of everything about `address` to `target`: JSON and the raw mails."""
    person = find_person(session, address)
    partial = target.with_name(f".{target.name}.partial")
    counts = {"messages": 0, "attachments": 0}
    found = tickets_of(session, person)
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        tickets = [
            _ticket_json(session, ticket, role, person, archive, counts) for ticket, role in found
        ]
        messages = [m for ticket, _ in found for m in ticket.messages]
        intake_ids = sorted(raw_mail_ids(session, person, messages, anywhere=False))
        for row in session.scalars(select(InboundMessage).where(InboundMessage.id.in_(intake_ids))):
            archive.writestr(f"received/{row.id}.eml", row.raw)
        sent = [o for o in sent_to(session, person) if o.raw]
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
        "created_at": iso(contact.created_at),
        "suppressed_at": iso(contact.suppressed_at),
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
        if message.kind in OTHER_PEOPLES and not theirs(message, person):
            continue
        counts["messages"] += 1
        messages.append(_message_json(session, message, archive, counts))
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
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "resolved_at": iso(ticket.resolved_at),
        "closed_at": iso(ticket.closed_at),
        "tags": [t.name for t in ticket.tags],
        "messages": messages,
        "events": [{"at": iso(e.at), "kind": e.kind, "data": e.data} for e in events],
        "satisfaction": None
        if rating is None
        else {"rating": rating.rating, "comment": rating.comment, "at": iso(rating.rated_at)},
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
    session: Session, message: Message, archive: zipfile.ZipFile, counts: dict[str, int]
) -> dict[str, Any]:
    attachments = []
    for part in message.attachments:
        entry: dict[str, Any] = {
            "filename": part.filename,
            "content_type": part.content_type,
            "size": part.size,
            "omitted": part.omitted,
        }
        # A chunk at a time: a ticket's files can be far larger than memory, one file too.
        if part.id in files.kept(session, [part.id]):
            safe = _UNSAFE_NAME.sub("_", part.filename).strip("._") or "attachment"
            entry["file"] = f"attachments/{message.id}/{part.id}-{safe}"
            with archive.open(entry["file"], "w") as written:
                for chunk in files.chunks(session, part.id):
                    written.write(chunk)
            counts["attachments"] += 1
        attachments.append(entry)
    return {
        "message_id": message.message_id,
        "direction": message.direction,
        "kind": message.kind.value,
        "from": message.from_address,
        "from_name": message.from_name,
        "subject": message.subject,
        "date": iso(message.date or message.received_at),
        "body_text": message.body_text,
        "new_text": message.new_text,
        "attachments": attachments,
    }
