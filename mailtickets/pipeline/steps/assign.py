"""Give a new ticket to an agent, as its queue's `assign` says (`services.assignment`).

Once per ticket, after the routing rules: an assignee a rule named stands. Mail that opens
no conversation (automated mail, history, a ticket an agent opened for a customer) is
assigned to nobody.
"""

from __future__ import annotations

from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext
from mailtickets.services import tickets
from mailtickets.services.assignment import choose_assignee


def assign_new_ticket(ctx: MessageContext) -> None:
    ticket = ctx.ticket
    if ticket is None or ctx.outcome != Outcome.NEW_TICKET or ticket.assignee_id is not None:
        return
    if ctx.history or ctx.automated is not None or ctx.on_behalf_by is not None:
        return
    queue = ctx.config.queue_for(ticket.queue.address)
    if queue is None:
        return
    agent = choose_assignee(ctx.session, queue, ctx.config.agents, ctx.now)
    if agent is not None:
        tickets.assign(ctx.session, ticket, agent, ctx.now, None)
