"""A customer's mail: a new ticket or a follow-up, and whoever they copied joins it as the
queue allows (`handlers.participants`); a customer who writes one of the team's commands
is told it is not theirs."""

from __future__ import annotations

from mailtickets.db.models import (
    Contact,
    EventKind,
    MessageKind,
    Ticket,
)
from mailtickets.mail import language
from mailtickets.mail.commands import parse_commands
from mailtickets.outbox.context import ticket_context
from mailtickets.outbox.enqueue import enqueue
from mailtickets.outbox.notices import reply_address
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext
from mailtickets.pipeline.handlers import participants
from mailtickets.pipeline.store import open_ticket, store_message
from mailtickets.services import contacts, tickets

#: Commands about the team's own work, which a customer may try since they look harmless.
TEAM_COMMANDS = frozenset({"follow", "unfollow", "away", "back"})


def record_customer_message(ctx: MessageContext) -> None:
    # Kept once known: the customer's own language wins over the queue's from then on.
    sender = tickets.contact_for(
        ctx.session, ctx.sender_address, ctx.sender_name, ctx.now, locale=lambda: _locale(ctx)
    )
    ctx.sender = sender
    contacts.heard_from(sender)
    previous = ctx.ticket
    if previous is None or tickets.closed_too_long(previous, ctx.now, ctx.config.reopen_grace):
        ticket = open_ticket(ctx, sender, linked_to=previous)
        from_ticket = True
    else:
        ticket = previous
        # Read once: whether the sender gets the ticket's mail, and so may copy others onto
        # it, and whether they are on it at all.
        place = tickets.participant(ctx.session, ticket, sender.address)
        from_ticket = place is not None and not place.pending
        _follow_up(ctx, ticket, sender, listed=place is not None)
    store_message(ctx, ticket, MessageKind.CUSTOMER, author_contact_id=sender.id)
    participants.copied(ctx, ticket, from_ticket=from_ticket)
    _refuse_team_commands(ctx, ticket)


def _refuse_team_commands(ctx: MessageContext, ticket: Ticket) -> None:
    """A customer who writes `#follow` (or `#away`, …) learns it is for the team only: their
    mail is on the ticket as any other, and nothing else changed."""
    written = [c.line for c in parse_commands(ctx.new_text).commands if c.name in TEAM_COMMANDS]
    if not written or ctx.history or ctx.automated is not None or ticket.contact.suppressed_at:
        return
    context = ticket_context(ctx.session, ticket, ctx.config.subject_prefix)
    context |= {
        "refused": {"commands": written},
        "reply_to": reply_address(ctx.config.secret, ticket, None, ctx.now),
    }
    enqueue(
        ctx.session,
        template="customer/agents_only",
        locale=ticket.contact.locale or ticket.queue.locale,
        recipients=[ctx.sender_address],
        ticket=ticket,
        context=context,
        now=ctx.now,
        secret=ctx.config.secret,
        in_reply_to=ctx.message_id,
    )


def _follow_up(ctx: MessageContext, ticket: Ticket, sender: Contact, *, listed: bool) -> None:
    """`listed`: the sender is a participant of `ticket`, pending or not."""
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
    if not listed and participants.sender_joins(ctx, ticket, sender):
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
