"""The team at a glance (`mailtickets agents list`): each configured agent's queues, whether
they are available or away (until when), and how many tickets they hold and follow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.config.settings import AgentSettings, QueueSettings
from mailtickets.db.models import Agent
from mailtickets.mail.addresses import normalise
from mailtickets.outbox.notices import serving
from mailtickets.services.absence import state
from mailtickets.services.assignment import open_counts
from mailtickets.services.followers import followed_counts


def team(
    session: Session,
    agents: Sequence[AgentSettings],
    queues: Sequence[QueueSettings],
    now: datetime,
) -> list[dict[str, Any]]:
    """One row per configured agent, in the configuration's order."""
    rows = {a.address: a for a in session.scalars(select(Agent))}
    held = open_counts(session, [a.id for a in rows.values()])
    followed = followed_counts(session)
    result = []
    for settings in agents:
        row = rows.get(normalise(settings.address))
        availability = state(row, now) if row is not None else None
        result.append(
            {
                "address": settings.address,
                "name": settings.name,
                "role": settings.role,
                "queues": [q.address for q in queues if settings in serving(q, agents)],
                "state": "away" if availability and availability.away else "available",
                "away_until": (
                    availability.until.isoformat() if availability and availability.until else None
                ),
                "away_how": availability.how if availability else None,
                "open": held.get(row.id, 0) if row is not None else 0,
                "followed": followed.get(row.id, 0) if row is not None else 0,
            }
        )
    return result
