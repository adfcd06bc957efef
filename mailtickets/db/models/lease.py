"""Who works on an intake or outbox row, since when: the lease holder (`db.lease`).

Kept beside the rows, not in them: a lease comes and goes with every attempt, and changing
the size of a row that carries a whole message would leave copies of it in the free space
of SQLite's pages, where no erasure reaches.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from mailtickets.db.base import Base

#: The longest holder name: PostgreSQL's limit for an application_name.
HOLDER = 63


class Lease(Base):
    __tablename__ = "lease"

    #: The leased row's table: `inbound_message` or `outbound_message`.
    work: Mapped[str] = mapped_column(String(32), primary_key=True)
    row_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: The instance that took it (`Duties.name`).
    holder: Mapped[str] = mapped_column(String(HOLDER))
    leased_at: Mapped[datetime]
