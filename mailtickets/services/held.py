"""The collision check: an agent's answer written without knowing of a newer one is held.

Each agent mail names, in its signed reply address, the newest answer the customer had been
sent (`outbox.notices.last_answer`). An answer whose address names an older one, while
someone else's answer went out since, is held: its message is `MessageKind.HELD` and its mail
to the customer `OutboundStatus.WITHHELD`, composed but never claimed by the sender. The agent
decides with `#send` (the mail goes as it was written, once) or `#discard`; an answer nobody
decided on expires after `[tickets] held_reply_expiry`, and its agent is told. Each decision
takes the row only while it is still held, so a decision and the expiry never both happen.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.db.models import (
    Agent,
    EventKind,
    HeldReply,
    HeldState,
    Message,
    MessageKind,
    OutboundMessage,
    OutboundStatus,
    Ticket,
)
from mailtickets.outbox.context import ticket_context
from mailtickets.outbox.enqueue import enqueue
from mailtickets.outbox.history import when
from mailtickets.outbox.notices import reply_address
from mailtickets.services.tickets import record

#: Held answers expired in one transaction; the next run takes the rest.
EXPIRY_BATCH = 100


def newer_answers(session: Session, ticket: Ticket, agent: Agent, seen: int) -> list[Message]:
    """Answers the customer was sent after answer `seen`, written by anyone but `agent`.

    The ticket stays locked until the transaction ends: of two answers arriving at once on
    two instances, the second waits, then sees the first and is held.
    """
    session.execute(select(Ticket.id).where(Ticket.id == ticket.id).with_for_update())
    query = select(Message).where(
        Message.ticket_id == ticket.id,
        Message.kind == MessageKind.AGENT,
        Message.id > seen,
        Message.author_agent_id.is_distinct_from(agent.id),
    )
    return list(session.scalars(query.order_by(Message.id)))


def hold(
    session: Session,
    ticket: Ticket,
    agent: Agent,
    message: Message,
    mail: OutboundMessage,
    *,
    now: datetime,
    expires_at: datetime,
) -> HeldReply:
    """Keep `mail` (the answer `message` composed for the customer) from being sent."""
    mail.status = OutboundStatus.WITHHELD
    held = HeldReply(
        ticket_id=ticket.id,
        agent_id=agent.id,
        message_id=message.id,
        outbound_id=mail.id,
        state=HeldState.HELD,
        held_at=now,
        expires_at=expires_at,
    )
    session.add(held)
    session.flush()
    return held


def latest(session: Session, ticket: Ticket, agent: Agent) -> HeldReply | None:
    """The agent's most recent held answer on `ticket`, whatever became of it; locked until
    the transaction ends, so that a decision and the expiry never both happen."""
    query = select(HeldReply).where(
        HeldReply.ticket_id == ticket.id, HeldReply.agent_id == agent.id
    )
    return session.scalar(query.order_by(HeldReply.id.desc()).limit(1).with_for_update())


def release(session: Session, ticket: Ticket, held: HeldReply, now: datetime) -> None:
    """`#send`: the held answer goes to the customer as it was written."""
    _decide(held, HeldState.SENT, now)
    held.message.kind = MessageKind.AGENT
    if held.outbound is not None:
        held.outbound.status, held.outbound.next_attempt_at = OutboundStatus.PENDING, now
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    record(session, ticket, EventKind.HELD_REPLY_SENT, now, held.agent.address, held=held.id)


def discard(session: Session, ticket: Ticket, held: HeldReply, now: datetime) -> None:
    """`#discard`: the held answer is never sent."""
    _decide(held, HeldState.DISCARDED, now)
    record(session, ticket, EventKind.HELD_REPLY_DISCARDED, now, held.agent.address, held=held.id)


def expire(sessions: sessionmaker[Session], secret: bytes, prefix: str, now: datetime) -> int:
    """Drop held answers past their expiry, telling each agent once; return how many."""
    with sessions.begin() as session:
        query = (
            select(HeldReply)
            .where(HeldReply.state == HeldState.HELD, HeldReply.expires_at <= now)
            .order_by(HeldReply.expires_at, HeldReply.id)
            .limit(EXPIRY_BATCH)
            .with_for_update(skip_locked=True)
        )
        due: Sequence[HeldReply] = session.scalars(query).all()
        for held in due:
            ticket = session.get_one(Ticket, held.ticket_id)
            _decide(held, HeldState.EXPIRED, now)
            record(session, ticket, EventKind.HELD_REPLY_EXPIRED, now, None, held=held.id)
            _tell_expired(session, ticket, held, secret, prefix, now)
    return len(due)


def _decide(held: HeldReply, state: HeldState, now: datetime) -> None:
    if held.state is not HeldState.HELD:
        raise ValueError(f"held reply #{held.id} was already {held.state.value}")
    held.state, held.decided_at = state, now
    if state is not HeldState.SENT and held.outbound is not None:
        held.outbound.status = OutboundStatus.DISCARDED


def _tell_expired(
    session: Session, ticket: Ticket, held: HeldReply, secret: bytes, prefix: str, now: datetime
) -> None:
    agent = held.agent
    context = ticket_context(
        session,
        ticket,
        prefix,
        agent={"name": agent.name, "signature": ""},
        reply_to=reply_address(secret, ticket, agent.id, now),
        held=view(held),
    )
    enqueue(
        session,
        template="agent/held_reply_expired",
        locale=ticket.queue.locale,
        recipients=[agent.address],
        ticket=ticket,
        context=context,
        now=now,
        secret=secret,
        in_reply_to=held.message.message_id,
    )


def view(held: HeldReply) -> dict[str, str]:
    """A held answer as agent mail shows it."""
    return {
        "text": held.message.new_text,
        "held_at": when(held.held_at),
        "expires": when(held.expires_at),
    }
