"""A customer's mail: a new ticket or a follow-up, and whoever they copied joins it."""

from __future__ import annotations

from mailtickets.db.models import (
    Contact,
    EventKind,
    MessageKind,
    Ticket,
)
from mailtickets.mail import language
from mailtickets.mail.addresses import normalise
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext
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
    else:
        ticket = previous
        _follow_up(ctx, ticket, sender)
    store_message(ctx, ticket, MessageKind.CUSTOMER, author_contact_id=sender.id)
    _add_copied_participants(ctx, ticket)


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
    if tickets.add_participant(ctx.session, ticket, sender, "cc", ctx.now):
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


def _add_copied_participants(ctx: MessageContext, ticket: Ticket) -> None:
    """Addresses the customer copied become participants; never ours, never agents'."""
    agents = {normalise(a.address) for a in ctx.config.agents}
    skip = ctx.config.own_addresses | agents | {ctx.sender_address}
    for address in (*ctx.mail.to, *ctx.mail.cc):
        if address in skip or ctx.config.queue_for(address) is not None:
            continue
        contact = tickets.contact_for(ctx.session, address, None, ctx.now)
        tickets.add_participant(ctx.session, ticket, contact, "cc", ctx.now)
