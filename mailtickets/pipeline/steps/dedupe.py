"""A message already stored (by Message-ID) is not stored again."""

from __future__ import annotations

from sqlalchemy import select

from mailtickets.db.models import Message
from mailtickets.errors import Stop
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import Received


def drop_duplicates(ctx: Received) -> None:
    # A message without Message-ID gets one from its content, stable across redeliveries.
    ctx.message_id = ctx.mail.message_id or f"synthetic.{ctx.intake.sha256[:40]}@mailtickets"
    stored = ctx.session.scalar(
        select(Message.ticket_id).where(Message.message_id == ctx.message_id)
    )
    if stored is not None:
        raise Stop(Outcome.DUPLICATE, f"message {ctx.message_id} is already on ticket #{stored}")
