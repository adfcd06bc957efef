"""Hand a new ticket to the agent on call when the team is away or the ticket is urgent."""

from __future__ import annotations

from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext
from mailtickets.services import oncall


def assign_on_call(ctx: MessageContext) -> None:
    # After the rules: a rule's assignee or priority ("urgent") is already on the ticket.
    ticket = ctx.ticket
    if ticket is None or ctx.outcome != Outcome.NEW_TICKET or ctx.history:
        return
    if ctx.automated is not None or ctx.on_behalf_by is not None:
        return
    oncall.page(ctx.session, ticket, ctx.config.sla, ctx.now)
