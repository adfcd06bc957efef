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
    Ticket,
)
from mailtickets.errors import Stop
from mailtickets.mail.dsn import Bounce
from mailtickets.mail.loops import Verdict
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext
from mailtickets.pipeline.steps.loops import AUTOMATED_OUTCOMES
from mailtickets.pipeline.steps.match import SIGNED_IN_RETURNED as _SIGNED_IN_RETURNED
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
        raise Stop(Outcome.BOUNCE, f"{bounce.format} for a message we did not send")
    store_message(ctx, ticket, MessageKind.BOUNCE)
    tickets.record(
        ctx.session,
        ticket,
        EventKind.DELIVERY_DELAYED if bounce.delayed else EventKind.DELIVERY_FAILED,
        ctx.now,
        ctx.sender_address,
        original=bounce.original_message_id,
        format=bounce.format,
        matched_by=ctx.matched_by,
        failures=[
            {"recipient": f.recipient, "action": f.action, "status": f.status}
            for f in bounce.failures
        ],
    )
    sent_to = _sent_to(ctx, ticket, bounce.original_message_id)
    for failure in bounce.failures:
        if failure.recipient not in sent_to:
            continue
        reason = f"{failure.action} {failure.status} for {bounce.original_message_id or ticket.id}"
        if failure.permanent:
            contacts.suppress(ctx.session, failure.recipient, f"hard bounce: {reason}", ctx.now)
        elif failure.action == "delayed":
            contacts.soft_bounce(ctx.session, failure.recipient, reason, ctx.now)
    ctx.outcome = Outcome.BOUNCE


def _sent_to(ctx: MessageContext, ticket: Ticket, original: str | None) -> set[str]:
    """Whom the bounced mail went to: the message it names, else any we sent on `ticket`
    (found by our signed marker or reply address, whose signature proves it was ours)."""
    query = select(OutboundMessage)
    if original:
        sent = ctx.session.scalar(query.where(OutboundMessage.message_id == original))
        if sent is not None:
            return set(sent.recipients)
    if ctx.matched_by not in _SIGNED_IN_RETURNED:
        return set()
    rows = ctx.session.scalars(query.where(OutboundMessage.ticket_id == ticket.id))
    return {recipient for row in rows for recipient in row.recipients}
