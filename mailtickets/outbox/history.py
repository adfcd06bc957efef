"""A ticket's past as agents read it in their mail: the conversation so far for a notice, and
the whole record for `#history`.

An agent works from their mailbox only, so an agent who has never had mail about a ticket
(or who is given it) would otherwise answer without knowing what was said. A notice shows
the newest messages first, each message's new text trimmed to a readable length, with who
wrote it and when; `#history` gives everything, oldest first: messages and notes whole,
what changed (status, priority, assignment, tags, merges, participants) and each file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db.models import (
    Agent,
    Attachment,
    Event,
    EventKind,
    Message,
    MessageKind,
    OutboundMessage,
    Ticket,
)

#: Messages a notice shows; the rest are counted, and `#history` has them.
MAX_MESSAGES = 10
#: What a notice shows of one message: enough to follow the conversation, not to drown it.
MAX_CHARS = 600
MAX_LINES = 12
#: One message's text in `#history`; a longer one ends with how much was left out.
MAX_RECORD_CHARS = 20_000
#: What people wrote or said about the ticket; automatic replies and bounces are noise here.
_CONVERSATION = (MessageKind.CUSTOMER, MessageKind.AGENT, MessageKind.NOTE, MessageKind.UNVERIFIED)
#: The changes `#history` lists, with the event data that says what became of the ticket.
_CHANGES = {
    EventKind.CREATED: (),
    EventKind.OPENED_ON_BEHALF: ("customer",),
    EventKind.STATUS: ("status",),
    EventKind.REOPENED: (),
    EventKind.PRIORITY: ("priority",),
    EventKind.ASSIGNED: ("assignee",),
    EventKind.TAGGED: ("tag",),
    EventKind.MERGED: ("into",),
    EventKind.MERGED_FROM: ("source",),
    EventKind.PARTICIPANT_ADDED: ("address", "role"),
    EventKind.PARTICIPANT_PENDING: ("address", "role"),
    EventKind.PARTICIPANT_CONFIRMED: ("address",),
    EventKind.PARTICIPANT_REMOVED: ("address",),
    EventKind.PARTICIPANTS_NOT_ADDED: ("addresses", "more", "why"),
    EventKind.RECIPIENTS_CAPPED: ("left_out", "max_recipients"),
    EventKind.AUTO_CLOSED: (),
}


def when(moment: datetime) -> str:
    """A moment as every agent mail shows it."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def conversation(
    session: Session, ticket: Ticket, *, leave_out: str | None = None
) -> dict[str, Any] | None:
    """The conversation so far, newest first, without the message `leave_out` (the one the
    notice shows in full); None when there is nothing else to show."""
    query = select(Message).where(Message.ticket_id == ticket.id, Message.kind.in_(_CONVERSATION))
    if leave_out:
        query = query.where(Message.message_id != leave_out)
    rows = list(session.scalars(query.order_by(Message.received_at.desc(), Message.id.desc())))
    return _conversation(rows, _agents(session)) if rows else None


def conversations(session: Session, ticket_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """`conversation` of each of `ticket_ids` that has one, read in two statements."""
    query = select(Message).where(
        Message.ticket_id.in_(ticket_ids), Message.kind.in_(_CONVERSATION)
    )
    rows: dict[int, list[Message]] = defaultdict(list)
    for row in session.scalars(query.order_by(Message.received_at.desc(), Message.id.desc())):
        rows[row.ticket_id].append(row)
    authors = _agents(session) if rows else {}
    return {ticket_id: _conversation(messages, authors) for ticket_id, messages in rows.items()}


def _conversation(rows: Sequence[Message], authors: dict[int, Agent]) -> dict[str, Any]:
    messages = []
    for row in rows[:MAX_MESSAGES]:
        text, cut = _trimmed(row.new_text)
        messages.append(_entry(row, authors) | {"text": text, "cut": cut})
    return {"messages": messages, "more": max(len(rows) - MAX_MESSAGES, 0)}


@dataclass
class Sightings:
    """Who has seen which of some tickets: the agents who wrote on them, the addresses they
    were mailed to; read together, and added to as the caller queues more mail."""

    wrote: set[tuple[int, int]]
    mailed: set[tuple[int, str]]

    @classmethod
    def read(cls, session: Session, ticket_ids: Sequence[int]) -> Sightings:
        wrote = session.execute(
            select(Message.ticket_id, Message.author_agent_id)
            .where(Message.ticket_id.in_(ticket_ids), Message.author_agent_id.is_not(None))
            .distinct()
        )
        sent = session.execute(
            select(OutboundMessage.ticket_id, OutboundMessage.recipients).where(
                OutboundMessage.ticket_id.in_(ticket_ids)
            )
        )
        return cls(
            {(t, a) for t, a in wrote if a is not None},
            {(t, address) for t, recipients in sent if t for address in recipients},
        )

    def seen(self, ticket_id: int, agent: Agent) -> bool:
        """Whether `agent` has had mail about the ticket or written on it."""
        return (ticket_id, agent.id) in self.wrote or (ticket_id, agent.address) in self.mailed

    def mail(self, ticket_id: int, address: str) -> None:
        self.mailed.add((ticket_id, address))


def whole_ticket(session: Session, ticket: Ticket) -> dict[str, Any]:
    """Everything about `ticket`, oldest first: each message or note whole with its files,
    and each change, for `#history`."""
    authors = _agents(session)
    entries: list[tuple[datetime, int, dict[str, Any]]] = []
    messages = session.scalars(
        select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
    )
    for row in messages:
        text = row.new_text
        left_out = max(len(text) - MAX_RECORD_CHARS, 0)
        files = [_file(a) for a in row.attachments]
        entry = _entry(row, authors) | {
            "type": "message",
            "text": text[:MAX_RECORD_CHARS],
            "left_out": left_out,
            "files": files,
        }
        entries.append((row.received_at, 0, entry))
    events = session.scalars(
        select(Event)
        .where(Event.ticket_id == ticket.id, Event.kind.in_(list(_CHANGES)))
        .order_by(Event.id)
    )
    for event in events:
        data = {key: event.data.get(key) for key in _CHANGES[EventKind(event.kind)]}
        entry = {
            "type": "change",
            "kind": event.kind,
            "when": when(event.at),
            "author": event.actor or "",
            "data": data,
        }
        entries.append((event.at, 1, entry))
    entries.sort(key=lambda e: (e[0], e[1]))
    count = sum(len(e["files"]) for _, _, e in entries if e["type"] == "message")
    return {
        "entries": [e for _, _, e in entries],
        "files": count,
        "assignee": ticket.assignee.address if ticket.assignee else None,
        "tags": [t.name for t in ticket.tags],
    }


def _agents(session: Session) -> dict[int, Agent]:
    return {a.id: a for a in session.scalars(select(Agent))}


def _entry(row: Message, agents: dict[int, Agent]) -> dict[str, Any]:
    agent = agents.get(row.author_agent_id) if row.author_agent_id else None
    name, address = (agent.name, agent.address) if agent else (row.from_name, row.from_address)
    author = f"{name} <{address}>" if name else (address or "")
    return {"author": author, "when": when(row.date or row.received_at), "kind": row.kind.value}


def _trimmed(text: str) -> tuple[str, bool]:
    """`text` cut to MAX_LINES lines and MAX_CHARS characters, and whether anything was cut."""
    lines = [line.rstrip() for line in text.strip().split("\n")]
    kept = "\n".join(lines[:MAX_LINES])
    if len(kept) > MAX_CHARS:
        kept = kept[:MAX_CHARS].rsplit(" ", 1)[0]
    cut = kept != "\n".join(lines)
    return kept.rstrip() + (" …" if cut else ""), cut


def _file(row: Attachment) -> dict[str, Any]:
    return {"name": row.filename, "size": row.size, "omitted": row.omitted}
