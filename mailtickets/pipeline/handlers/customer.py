"""A customer's mail: a new ticket or a follow-up, and whoever they copied joins it as the
queue allows (`handlers.participants`)."""

from __future__ import annotations

from mailtickets.db.models import (
    Contact,
    EventKind,
    MessageKind,
    Ticket,
)
from mailtickets.mail import language
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext
from mailtickets.pipeline.handlers import participants
from mailtickets.pipeline.store import open_ticket, store_message
from mailtickets.services import contacts, tickets


def record_customer_message(ctx: MessageContext) -> None:
    sender = tickets.contact_for(ctx.session, ctx.sender_address, ctx.sender_name, ctx.now)
    ctx.sender = sender
    contacts.heard_from(sender)
    if sender.locale is None:
        # Kept once known: the customer's own language wins over the queue's from then on.
        sender.locale = _locale(ctx)
    previous = ctx.ticket
    if previous is None or tickets.closed_too_long(previous, ctx.now, ctx.config.reopen_grace):
        ticket = open_ticket(ctx, sender, linked_to=previous)
        from_ticket = True
    else:
        ticket = previous
        from_ticket = participants.on_ticket(ctx, ticket, sender.address)
        _follow_up(ctx, ticket, sender)
    store_message(ctx, ticket, MessageKind.CUSTOMER, author_contact_id=sender.id)
    participants.copied(ctx, ticket, from_ticket=from_ticket)


def _follow_up(ctx: MessageContext, ticket: Ticket, sender: Contact) -> None:
    # History older than the ticket's last change says nothing about where it stands now.
    if not (ctx.history and ctx.now < ticket.updated_at):
        tickets.customer_wrote(ctx.session, ticket, ctx.now, sender.address, sla=ctx.config.sla)
    if ctx.ignored_reference:
        tickets.record(
            ctx.session,
            ticket,
            EventKind.REFERENCE_IGNORED,
            ctx.now,
            sender.address,
            **ctx.ignored_reference,
        )
    if participants.sender_joins(ctx, ticket, sender):
        tickets.record(
            ctx.session,
            ticket,
            EventKind.JOINED,
            ctx.now,
            sender.address,
            matched_by=ctx.matched_by,
        )
    ctx.outcome = Outcome.FOLLOW_UP


def _locale(ctx: MessageContext) -> str | None:
    """The customer's locale, among those we have templates for: the language their mail
    declares (Content-Language), else the one their new text is written in."""
    declared = language.from_header(ctx.mail.header("Content-Language"))
    found = declared or language.detect(ctx.new_text)
    return language.locale_for(found, ctx.config.locales) if found else None
