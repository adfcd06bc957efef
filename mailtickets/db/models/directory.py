"""Who mail comes from and goes to: queues (support addresses), agents and contacts.

Queues and agents are declared in the config and mirrored here so tickets can refer to them;
contacts (customers) are created on their first mail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
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
