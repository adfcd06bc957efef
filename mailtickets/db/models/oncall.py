"""On-call pages: a ticket handed to the agent on call, who must act within the rota's time.

A page is settled once: silently when the agent acted (or the ticket no longer needs them),
or by telling the next agent of the rota and the managers. Settling it and queuing that mail
happen in one transaction, so nobody is told twice, whatever restarts or instances.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailtickets.db.base import Base
from mailtickets.db.models.directory import Agent


class OnCallPage(Base):
    __tablename__ = "on_call_page"
    # The escalation sweep reads only the unsettled pages whose time has come.
    __table_args__ = (Index(None, "settled_at", "ack_due"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    rota: Mapped[str] = mapped_column(String(200))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    paged_at: Mapped[datetime]
    ack_due: Mapped[datetime]
    settled_at: Mapped[datetime | None]

    agent: Mapped[Agent] = relationship()
