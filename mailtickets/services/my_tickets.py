""" "My tickets": the morning mail of an agent who asked for it (`[[agent]] digest = "daily"`),
sent with the managers' digest at `[scheduler] digest_at`.

It lists the agent's open and pending tickets, oldest first, each with its next due time,
its last message in one line and the agent's own signed reply address for that ticket, so
that answering from the list acts on the ticket as answering its notification does. An
agent with no such ticket gets no mail.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.config.settings import AgentSettings, QueueSettings
from mailtickets.db.models import Agent, Message, Ticket
from mailtickets.mail.addresses import normalise
from mailtickets.outbox.enqueue import enqueue
from mailtickets.outbox.notices import reply_address, serving
from mailtickets.services.assignment import OPEN_WORK
from mailtickets.services.sla.policy import SlaConfig

#: How much of the last message a line shows.
LAST_CHARS = 70


def send_my_tickets(sessions: sessionmaker[Session], config: SlaConfig, now: datetime) -> int:
    """Queue each opted-in agent's list of their open and pending tickets; return how many."""
    sent = 0
    with sessions.begin() as session:
        for settings in (a for a in config.agents if a.digest == "daily"):
            agent = session.scalar(
                select(Agent).where(Agent.address == normalise(settings.address))
            )
            if agent is None or not agent.active:
                continue
            lines = my_tickets(session, agent, config.secret, now)
            if not lines:
                continue
            queue = _home_queue(settings, config.queues)
            enqueue(
                session,
                template="agent/my_tickets",
                locale=queue.locale,
                recipients=[agent.address],
                ticket=None,
                context={
                    "queue": {"name": queue.name, "address": queue.address},
                    "agent": {"name": settings.name, "signature": ""},
                    "my_tickets": {"date": f"{now:%Y-%m-%d}", "tickets": lines},
                },
                now=now,
                secret=config.secret,
                domain=queue.address.rpartition("@")[2],
            )
            sent += 1
    return sent


def my_tickets(
    session: Session, agent: Agent, secret: bytes, now: datetime
) -> list[dict[str, Any]]:
    """The lines of `agent`'s list: their open and pending tickets, oldest first."""
    query = (
        select(Ticket)
        .where(Ticket.assignee_id == agent.id, Ticket.status.in_(OPEN_WORK))
        .order_by(Ticket.created_at, Ticket.id)
    )
    return [
        {
            "id": ticket.id,
            "subject": ticket.subject,
            "status": ticket.status.value,
            "customer": ticket.contact.address,
            "due": _due(ticket),
            "last": _last(session, ticket),
            "reply_to": reply_address(secret, ticket, agent.id, now),
        }
        for ticket in session.scalars(query)
    ]


def _due(ticket: Ticket) -> str | None:
    times = [ticket.first_response_due, ticket.next_response_due, ticket.resolution_due]
    due = min((t for t in times if t is not None), default=None)
    return f"{due:%Y-%m-%d %H:%M} UTC" if due is not None else None


def _last(session: Session, ticket: Ticket) -> str:
    """The ticket's last message, in one line: who wrote it and how it begins."""
    message = session.scalar(
        select(Message)
        .where(Message.ticket_id == ticket.id)
        .order_by(Message.received_at.desc(), Message.id.desc())
        .limit(1)
    )
    if message is None:
        return ""
    text = " ".join((message.new_text or message.body_text).split())
    if len(text) > LAST_CHARS:
        text = text[: LAST_CHARS - 1] + "…"
    who = message.from_name or message.from_address or message.kind.value
    return f"{who}: {text}" if text else who


def _home_queue(agent: AgentSettings, queues: Sequence[QueueSettings]) -> QueueSettings:
    """The first queue the agent serves: its language and address are the mail's."""
    return next((q for q in queues if agent in serving(q, [agent])), queues[0])
