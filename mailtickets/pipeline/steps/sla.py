"""Keep the ticket's SLA due times current after whatever changed it."""

from __future__ import annotations

from mailtickets.pipeline.context import MessageContext
from mailtickets.services.sla.clocks import refresh


def update_sla(ctx: MessageContext) -> None:
    if ctx.ticket is not None:
        refresh(ctx.session, ctx.ticket, ctx.config.sla, ctx.now)
