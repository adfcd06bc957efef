"""Agents who follow a ticket (`#follow`): they hear of every customer reply and every
agent's answer on it, whoever it is assigned to. Each change is an event on the ticket."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailtickets.db.models import Agent, EventKind, Follower, Ticket
from mailtickets.services.tickets import record


def follow(session: Session, ticket: Ticket, agent: Agent, now: datetime, actor: str) -> bool:
    """Make `agent` follow `ticket`; False when they already did."""
    if _row(session, ticket, agent) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Follower(ticket_id=ticket.id, agent_id=agent.id, added_at=now))
    except IntegrityError:
        return False  # the same #follow, processed at once elsewhere
    record(session, ticket, EventKind.FOLLOWED, now, actor, agent=agent.address)
    return True


def unfollow(session: Session, ticket: Ticket, agent: Agent, now: datetime, actor: str) -> bool:
    """Stop `agent` following `ticket`; False when they did not."""
    row = _row(session, ticket, agent)
    if row is None:
        return False
    session.delete(row)
    record(session, ticket, EventKind.UNFOLLOWED, now, actor, agent=agent.address)
    return True


def followed_counts(session: Session) -> dict[int, int]:
    """How many tickets each agent follows, by agent id."""
    query = select(Follower.agent_id, func.count(Follower.id)).group_by(Follower.agent_id)
    return {row[0]: row[1] for row in session.execute(query)}


def _row(session: Session, ticket: Ticket, agent: Agent) -> Follower | None:
    return session.scalar(
        select(Follower).where(Follower.ticket_id == ticket.id, Follower.agent_id == agent.id)
    )
