"""Mirror the queues and agents of the config into the database, where tickets refer to them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.config.settings import AgentSettings, QueueSettings
from mailtickets.db.models import Agent, Queue


def sync_directory(
    session: Session, queues: tuple[QueueSettings, ...], agents: tuple[AgentSettings, ...]
) -> None:
    """Insert or update every configured queue and agent; agents no longer configured go
    inactive rather than away, because tickets keep pointing at them."""
    known_queues = {q.address.lower(): q for q in session.scalars(select(Queue))}
    for queue in queues:
        queue_row = known_queues.get(queue.address.lower()) or Queue(address=queue.address.lower())
        queue_row.name, queue_row.locale, queue_row.sla = queue.name, queue.locale, queue.sla
        session.add(queue_row)
    known_agents = {a.address.lower(): a for a in session.scalars(select(Agent))}
    configured = {a.address.lower() for a in agents}
    for agent in agents:
        agent_row = known_agents.get(agent.address.lower()) or Agent(address=agent.address.lower())
        agent_row.name, agent_row.role, agent_row.active = agent.name, agent.role, True
        session.add(agent_row)
    for address, gone in known_agents.items():
        if address not in configured:
            gone.active = False
