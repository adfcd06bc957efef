"""Change the ticket through the tickets service, by who wrote the mail and why.

A bounce or an auto-reply is recorded as such; an agent proven by their signed reply address
answers and gives commands; other mail from an agent's address proves nothing and is
recorded only as far as that allows; an answer on a satisfaction address is a rating;
anything else is a customer's request or follow-up. An agent's own out-of-office reply
to our mail marks them away.
"""

from __future__ import annotations

from mailtickets.mail.loops import Automated
from mailtickets.pipeline.context import MessageContext
from mailtickets.pipeline.handlers.absence import (
    absence_commands,
    record_absence_mail,
    record_out_of_office,
)
from mailtickets.pipeline.handlers.agent_mail import record_agent_mail
from mailtickets.pipeline.handlers.agent_reply import record_agent_reply
from mailtickets.pipeline.handlers.automated import record_automated, record_bounce
from mailtickets.pipeline.handlers.customer import record_customer_message
from mailtickets.pipeline.handlers.satisfaction import record_satisfaction


def apply_to_ticket(ctx: MessageContext) -> None:
    ticket = ctx.ticket
    if ctx.bounce is not None:
        record_bounce(ctx, ctx.bounce)
    elif ctx.automated is not None:
        record_automated(ctx, ctx.automated)
        if _agents_out_of_office(ctx):
            record_out_of_office(ctx)
    elif ctx.agent is not None and ticket is not None:
        # A proven agent always comes with the ticket their reply address names.
        record_agent_reply(ctx, ticket, ctx.agent)
    elif ctx.config.agent(ctx.sender_address) is not None:
        commands = absence_commands(ctx)
        if commands is not None:
            record_absence_mail(ctx, commands)
        else:
            record_agent_mail(ctx)
    elif not (ctx.survey and ticket is not None and record_satisfaction(ctx, ticket)):
        # Also a survey answer with no rating in it: that customer wants help, not a score.
        record_customer_message(ctx)


def _agents_out_of_office(ctx: MessageContext) -> bool:
    """An agent's automatic reply to our mail about a ticket."""
    verdict = ctx.automated
    return (
        verdict is not None
        and verdict.kind is Automated.AUTO_REPLY
        and ctx.ticket is not None
        and ctx.config.agent(ctx.sender_address) is not None
    )
