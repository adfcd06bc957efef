"""Mail no person wrote: auto-replies and bulk mail kept on their ticket, bounces recorded.

Only a delivery report about mail we sent, for an address we sent it to, may suppress that
address: anybody can write a delivery report about anything.
"""

from __future__ import annotations

from sqlalchemy import select

from mailtickets.db.models import (
    EventKind,
    MessageKind,
    OutboundMessage,
)
from mailtickets.errors import Stop
from mailtickets.mail.dsn import Bounce
from mailtickets.mail.loops import Verdict
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext
from mailtickets.pipeline.steps.loops import AUTOMATED_OUTCOMES
from mailtickets.pipeline.store import open_ticket, store_message
from mailtickets.services import contacts, tickets


def record_automated(ctx: MessageContext, verdict: Verdict) -> None:
    outcome = AUTOMATED_OUTCOMES[verdict.kind]
    if ctx.ticket is not None:
        store_message(ctx, ctx.ticket, MessageKind.AUTO)
        ctx.outcome = outcome
        return
    if not ctx.config.tickets_from_auto_replies:
        raise Stop(outcome, f"{verdict.reason}; belongs to no ticket")
    sender = tickets.contact_for(ctx.session, ctx.sender_address, ctx.sender_name, ctx.now)
    ticket = open_ticket(ctx, sender)
    store_message(ctx, ticket, MessageKind.AUTO, author_contact_id=sender.id)


def record_bounce(ctx: MessageContext, bounce: Bounce) -> None:
    ticket = ctx.ticket
    if ticket is None:
        raise Stop(Outcome.BOUNCE, "delivery report for a message we did not send")
    store_message(ctx, ticket, MessageKind.BOUNCE)
    tickets.record(
        ctx.session,
        ticket,
        EventKind.DELIVERY_FAILED if bounce.permanent else EventKind.DELIVERY_DELAYED,
        ctx.now,
        ctx.sender_address,
        original=bounce.original_message_id,
        failures=[
            {"recipient": f.recipient, "action": f.action, "status": f.status}
            for f in bounce.failures
        ],
    )
    original = bounce.original_message_id
    sent = (
        ctx.session.scalar(select(OutboundMessage).where(OutboundMessage.message_id == original))
        if original
        else None
    )
    for failure in bounce.failures:
        if sent is None or failure.recipient not in sent.recipients:
            continue
        reason = f"{failure.action} {failure.status} for {original}"
        if failure.permanent:
            contacts.suppress(ctx.session, failure.recipient, f"hard bounce: {reason}", ctx.now)
        elif failure.action == "delayed":
            contacts.soft_bounce(ctx.session, failure.recipient, reason, ctx.now)
    ctx.outcome = Outcome.BOUNCE
