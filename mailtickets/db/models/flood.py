"""The customer messages of the last hour that agents were told of, or not, by sender.

One row per customer message and source it counts against: its sender's address, and
`@domain` while the sender is an address first seen within the hour. Beyond
`[notifications] flood_threshold` rows of one source in an hour, a message's agent notice is
withheld (`withheld`); the scheduler later sends one summary for the withheld rows of a
source and stamps them `summarised_at`. Rows are kept for an hour, withheld ones until
summarised: the table stays the size of one hour of mail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mailtickets.db.base import Base


class NoticeTally(Base):
    __tablename__ = "notice_tally"
    # The count for each message reads one source's last hour; the summary reads the
    # withheld rows not yet summarised.
    __table_args__ = (
        Index(None, "source", "at"),
        Index(None, "withheld", "summarised_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The sender's address, or "@domain" for new addresses at that domain.
    source: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime]
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    withheld: Mapped[bool] = mapped_column(default=False)
    summarised_at: Mapped[datetime | None]
