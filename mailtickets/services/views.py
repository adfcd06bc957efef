"""Read-only views of tickets for the CLI and its JSON output (field names are a contract)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db.models import (
    Agent,
    Contact,
    Event,
    OutboundMessage,
    Participant,
    Ticket,
)
from mailtickets.services import outgoing
from mailtickets.services.tickets import find


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _person(name: str | None, address: str) -> str:
    return f"{name} <{address}>" if name else address


def show_ticket(session: Session, ticket_id: int) -> dict[str, Any]:
    ticket = find(session, ticket_id)
    participants = session.execute(
        select(Participant.role, Contact.name, Contact.address, Participant.pending)
        .join(Contact, Participant.contact_id == Contact.id)
        .where(Participant.ticket_id == ticket.id)
        .order_by(Participant.id)
    )
    return {
        "id": ticket.id,
        "subject": ticket.subject,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "queue": ticket.queue.address,
        "customer": ticket.contact.address,
        "participants": [
            {"address": address, "name": name, "role": role, "pending": pending}
            for role, name, address, pending in participants
        ],
        "assignee": ticket.assignee.address if ticket.assignee else None,
        "linked_ticket": ticket.linked_ticket_id,
        "tags": [tag.name for tag in ticket.tags],
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
        "messages": _conversation(session, ticket),
        "events": [
            {"at": _iso(event.at), "kind": event.kind, "actor": event.actor, "data": event.data}
            for event in session.scalars(
                select(Event).where(Event.ticket_id == ticket.id).order_by(Event.at, Event.id)
            )
        ],
        # Every mail sent about the ticket, to the customer and to agents, in any state.
        "outgoing": [
            outgoing.view(row)
            for row in session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.ticket_id == ticket.id)
                .order_by(OutboundMessage.id)
            )
        ],
    }


def _conversation(session: Session, ticket: Ticket) -> list[dict[str, Any]]:
    agents = {a.id: a for a in session.scalars(select(Agent))}
    # Imported here: the attachments' numbering needs the mail parser, which listing does not.
    from mailtickets.outbox.attachments import ticket_files

    numbers = {f.row.id: f.number for f in ticket_files(session, ticket)}
    entries: list[tuple[datetime, dict[str, Any]]] = []
    for message in ticket.messages:
        agent = agents.get(message.author_agent_id) if message.author_agent_id else None
        author = (
            _person(agent.name, agent.address)
            if agent
            else _person(message.from_name, message.from_address or "")
        )
        entries.append(
            (
                message.received_at,
                {
                    "message_id": message.message_id,
                    "direction": message.direction,
                    "author": author,
                    "kind": message.kind.value,
                    "date": _iso(message.date or message.received_at),
                    "subject": message.subject,
                    "new_text": message.new_text,
                    # The whole text as it arrived, quoted history and signature included.
                    "body": message.body_text,
                    "attachments": [
                        {
                            "number": numbers[a.id],
                            "filename": a.filename,
                            "content_type": a.content_type,
                            "size": a.size,
                            "inline": a.inline,
                            "omitted": a.omitted,
                        }
                        for a in message.attachments
                    ],
                },
            )
        )
    # What we sent the customer belongs to the conversation too (agent notices do not).
    outgoing = select(OutboundMessage).where(
        OutboundMessage.ticket_id == ticket.id, OutboundMessage.template.like("customer/%")
    )
    for out in session.scalars(outgoing):
        entries.append(
            (
                out.created_at,
                {
                    "message_id": out.message_id,
                    "direction": "out",
                    "author": ticket.queue.address,
                    "kind": "system",
                    "date": _iso(out.sent_at or out.created_at),
                    "subject": str(out.context.get("subject", "")),
                    "new_text": "",
                    "body": "",
                    "attachments": [],
                    "template": out.template,
                    "delivery": out.status.value,
                },
            )
        )
    return [entry for _, entry in sorted(entries, key=lambda e: e[0])]
