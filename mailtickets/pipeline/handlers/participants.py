"""Who a customer's mail adds to its ticket, so that nobody joins a conversation uninvited.

A message adds the addresses it was written to only when its sender was already on the ticket
(the customer who opened it, a confirmed participant): at most `max_new_participants` of
them, and never past `max_participants` on the ticket. The queue's `participants` setting
says how strict: "open" mails everyone added; "confirm" (the default) lists as pending those
added by mail our MTA did not authenticate, and a sender who joined by replying to the
ticket's mail (a reference, its reply address) rather than by being copied, until an agent
confirms them (`#cc add`, `#cc keep`); "closed" adds nobody by mail. Whoever a message names
but does not add is listed on the ticket in one event saying why, and never mailed.
"""

from __future__ import annotations

from sqlalchemy import func, select

from mailtickets.db.models import Contact, EventKind, Participant, Ticket
from mailtickets.mail.addresses import normalise
from mailtickets.outbox.context import mailed_and_pending
from mailtickets.pipeline.context import MessageContext
from mailtickets.services import tickets

#: Addresses one "not added" event lists; the rest are counted.
MAX_LISTED = 50
_CLOSED = "only agents add participants to this queue's tickets"


def sender_joins(ctx: MessageContext, ticket: Ticket, sender: Contact) -> bool:
    """The sender of a follow-up who is not on the ticket, not even pending (they wrote by
    reference or to its reply address), joins as the queue allows; True when they were
    added."""
    if ctx.queue.participants == "closed":
        _not_added(ctx, ticket, [sender.address], _CLOSED)
        return False
    if _count(ctx, ticket) >= ctx.config.max_participants:
        _not_added(ctx, ticket, [sender.address], _full(ctx))
        return False
    pending = ctx.queue.participants == "confirm"
    return tickets.add_participant(ctx.session, ticket, sender, "cc", ctx.now, pending=pending)


def copied(ctx: MessageContext, ticket: Ticket, *, from_ticket: bool) -> None:
    """Those the message was written to join `ticket`, as the queue allows; `from_ticket`
    says the sender was on it before this message."""
    named = _named(ctx, ticket)
    if not named:
        return
    if ctx.queue.participants == "closed":
        _not_added(ctx, ticket, named, _CLOSED)
        return
    if not from_ticket:
        _not_added(ctx, ticket, named, "the sender is not a confirmed participant of the ticket")
        return
    config = ctx.config
    room = max(min(config.max_new_participants, config.max_participants - _count(ctx, ticket)), 0)
    pending = ctx.queue.participants == "confirm" and ctx.unauthenticated()
    for address in named[:room]:
        contact = tickets.contact_for(ctx.session, address, None, ctx.now)
        tickets.add_participant(
            ctx.session, ticket, contact, "cc", ctx.now, pending=pending, actor=ctx.sender_address
        )
    if len(named) > room:
        why = (
            f"more than max_new_participants ({config.max_new_participants}) in one message"
            if room == config.max_new_participants
            else _full(ctx)
        )
        _not_added(ctx, ticket, named[room:], why)


def _named(ctx: MessageContext, ticket: Ticket) -> list[str]:
    """The outside addresses the message was written to, in order, not yet on the ticket."""
    agents = {normalise(a.address) for a in ctx.config.agents}
    skip = ctx.config.own_addresses | agents | {ctx.sender_address}
    written = dict.fromkeys((*ctx.mail.to, *ctx.mail.cc))
    outside = [a for a in written if a not in skip and ctx.config.queue_for(a) is None]
    if not outside:  # most mail is written to the queue alone: nothing to read
        return []
    present = set(
        ctx.session.scalars(
            select(Contact.address)
            .join(Participant, Participant.contact_id == Contact.id)
            .where(Participant.ticket_id == ticket.id)
        )
    )
    return [a for a in outside if a not in present]


def _count(ctx: MessageContext, ticket: Ticket) -> int:
    query = select(func.count(Participant.id)).where(Participant.ticket_id == ticket.id)
    return ctx.session.scalar(query) or 0


def _full(ctx: MessageContext) -> str:
    return f"the ticket has max_participants ({ctx.config.max_participants})"


def _not_added(ctx: MessageContext, ticket: Ticket, addresses: list[str], why: str) -> None:
    tickets.record(
        ctx.session,
        ticket,
        EventKind.PARTICIPANTS_NOT_ADDED,
        ctx.now,
        ctx.sender_address,
        addresses=addresses[:MAX_LISTED],
        more=max(len(addresses) - MAX_LISTED, 0),
        why=why,
    )


def room_for(ctx: MessageContext, ticket: Ticket, address: str) -> bool:
    """Whether an agent's `#cc add` of `address` fits under `max_participants`."""
    present = tickets.participant(ctx.session, ticket, address) is not None
    return present or _count(ctx, ticket) < ctx.config.max_participants


def agent_adds(ctx: MessageContext, ticket: Ticket, address: str, actor: str) -> None:
    """`#cc add`: a pending participant is confirmed, anyone else added, mailed at once."""
    if tickets.confirm_participant(ctx.session, ticket, address, ctx.now, actor):
        return
    contact = tickets.contact_for(ctx.session, address, None, ctx.now)
    tickets.add_participant(ctx.session, ticket, contact, "cc", ctx.now, actor=actor)


def keep_pending(ctx: MessageContext, ticket: Ticket, actor: str) -> None:
    """`#cc keep`: every pending participant is mailed from now on."""
    _, pending = mailed_and_pending(ctx.session, ticket)
    for address in pending:
        tickets.confirm_participant(ctx.session, ticket, address, ctx.now, actor)
