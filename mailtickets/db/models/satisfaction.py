"""Customer satisfaction: the rating a customer gave a resolved ticket, with their comment.

One row per ticket; a second answer replaces the first. The contact is kept apart from the
ticket's so that reports count ratings by who gave them, and may be emptied (privacy) while
the score still counts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailtickets.db.base import Base


class SatisfactionRating(Base):
    __tablename__ = "satisfaction_rating"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), unique=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    rating: Mapped[int]  # 1 (bad) to 5 (great)
    comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime] = mapped_column(index=True)
