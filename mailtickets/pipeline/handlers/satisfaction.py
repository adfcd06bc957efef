"""A customer's answer on a satisfaction reply address becomes a rating.

The ticket keeps its status whatever it is; a mail with no rating in it goes on as an
ordinary customer message, since a customer who writes there without a score wants help.
"""

from __future__ import annotations

from mailtickets.db.models import EventKind, MessageKind, Ticket
from mailtickets.mail.ratings import parse_rating
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext
from mailtickets.pipeline.store import store_message
from mailtickets.services import contacts, satisfaction, tickets


def record_satisfaction(ctx: MessageContext, ticket: Ticket) -> bool:
    """Record the rating in a satisfaction answer; False when the mail holds none."""
    rating = parse_rating(ctx.new_text)
    if rating is None:
        tickets.record(
            ctx.session, ticket, EventKind.SATISFACTION_UNREADABLE, ctx.now, ctx.sender_address
        )
        return False
    sender = tickets.contact_for(ctx.session, ctx.sender_address, ctx.sender_name, ctx.now)
    ctx.sender = sender
    contacts.heard_from(sender)
    store_message(ctx, ticket, MessageKind.CUSTOMER, author_contact_id=sender.id)
    # A rating imported as history was thanked for, or not, when it came.
    if satisfaction.rate(ctx.session, ticket, sender, rating, ctx.now) and not ctx.history:
        satisfaction.thank(
            ctx.session,
            ticket,
            sender,
            secret=ctx.config.secret,
            prefix=ctx.config.subject_prefix,
            now=ctx.now,
            in_reply_to=ctx.message_id,
        )
    ctx.outcome = Outcome.SATISFACTION
    return True
