"""Who mail comes from and goes to: queues (support addresses), agents and contacts.

Queues and agents are declared in the config and mirrored here so tickets can refer to them;
contacts (customers) are created on their first mail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from mailtickets.db.base import Base

ADDRESS = String(320)


class Queue(Base):
    __tablename__ = "queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(ADDRESS, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(16))
    sla: Mapped[str | None] = mapped_column(String(100))


class Agent(Base):
    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(ADDRESS, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    #: Set while the agent is away (`#away`, `agents away`, their own out-of-office reply):
    #: they get no new tickets, and the managers also hear of theirs.
    away_since: Mapped[datetime | None]
    #: When they are back; None with `away_since` set: until `#back`, or for an
    #: out-of-office reply that named no date, until they next act.
    away_until: Mapped[datetime | None]
    #: How they went away: "mail", "cli" or "auto_reply" (which their next act ends).
    away_how: Mapped[str | None] = mapped_column(String(16))

    def away_at(self, now: datetime) -> bool:
        """Whether the agent is away at `now`; a date they named that has come ends it."""
        if self.away_since is None:
            return False
        return self.away_until is None or now < self.away_until


class AssignmentCursor(Base):
    """Per queue, the agent given its last ticket: where round robin goes on from, and the
    row each instance locks while it chooses, so that two never choose by stale counts."""

    __tablename__ = "assignment_cursor"

    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), primary_key=True)
    last_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    updated_at: Mapped[datetime]


class Contact(Base):
    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lowercased, so the same person is found whatever case their client writes.
    address: Mapped[str] = mapped_column(ADDRESS, unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    #: Delayed-delivery reports since the last delivery that went through; enough of them
    #: suppress the address like a hard bounce does.
    soft_bounces: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Set after hard bounces: no automatic mail goes to a suppressed address.
    suppressed_at: Mapped[datetime | None]
    suppressed_reason: Mapped[str | None] = mapped_column(String(500))
