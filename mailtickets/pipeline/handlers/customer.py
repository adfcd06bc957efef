"""A customer's mail: a new ticket or a follow-up, and whoever they copied joins it.

An agent's mail to a queue that starts with `#customer <address>` opens a ticket for that
customer instead; it arrives here because a From header alone proves nothing.
"""

from __future__ import annotations

from sqlalchemy import select

from mailtickets.db.models import (
    Agent,
    Contact,
    EventKind,
    MessageKind,
    Ticket,
)
from mailtickets.mail.addresses import normalise
from mailtickets.mail.authresults import authenticated
from mailtickets.mail.commands import parse_commands
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext
from mailtickets.pipeline.store import open_ticket, store_message
from mailtickets.services import contacts, tickets


def record_customer_message(ctx: MessageContext) -> None:
    if _open_on_behalf(ctx):
        return
    sender = tickets.contact_for(ctx.session, ctx.sender_address, ctx.sender_name, ctx.now)
    ctx.sender = sender
    contacts.heard_from(sender)
    language = _language(ctx.mail.header("Content-Language"))
    if language is not None and sender.locale is None:
        sender.locale = language  # the customer's own language wins over the queue's
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
    is_agent = ctx.config.agent(sender.address) is not None
    if not is_agent and tickets.add_participant(ctx.session, ticket, sender, "cc", ctx.now):
        tickets.record(
            ctx.session,
            ticket,
            EventKind.JOINED,
            ctx.now,
            sender.address,
            matched_by=ctx.matched_by,
        )
    ctx.outcome = Outcome.FOLLOW_UP


def _language(content_language: str | None) -> str | None:
    """Our locale for a Content-Language header (RFC 3282), or None when we have none."""
    first = (content_language or "").split(",")[0].strip().lower()
    if first.startswith("pt"):
        return "pt_BR"
    if first.startswith("en"):
        return "en"
    return None


def _open_on_behalf(ctx: MessageContext) -> bool:
    """An agent's mail to a queue starting with `#customer <address>` opens a ticket for that
    customer. Nothing authenticates a From header, so the customer is not mailed about it:
    the agent who asked knows, and the other agents get the usual notice."""
    agent = ctx.config.agent(ctx.sender_address)
    if agent is None or ctx.ticket is not None:
        return False
    trusted = ctx.config.agents_must_authenticate_at
    if trusted and not authenticated(ctx.mail.headers("Authentication-Results"), trusted):
        return False  # in strict mode a From header alone opens nothing in anyone's name
    parsed = parse_commands(ctx.new_text)
    customers = [c.argument for c in parsed.commands if c.name == "customer"]
    if not customers:
        return False
    customer = tickets.contact_for(ctx.session, customers[-1], None, ctx.now)
    ctx.on_behalf_by, ctx.new_text = ctx.sender_address, parsed.text
    ticket = open_ticket(ctx, customer)
    tickets.record(
        ctx.session,
        ticket,
        EventKind.OPENED_ON_BEHALF,
        ctx.now,
        ctx.sender_address,
        customer=customer.address,
    )
    author = ctx.session.scalar(select(Agent).where(Agent.address == ctx.sender_address))
    store_message(ctx, ticket, MessageKind.CUSTOMER, author_agent_id=author.id if author else None)
    return True


def _add_copied_participants(ctx: MessageContext, ticket: Ticket) -> None:
    """Addresses the customer copied become participants; never ours, never agents'."""
    agents = {normalise(a.address) for a in ctx.config.agents}
    skip = ctx.config.own_addresses | agents | {ctx.sender_address}
    for address in (*ctx.mail.to, *ctx.mail.cc):
        if address in skip or ctx.config.queue_for(address) is not None:
            continue
        contact = tickets.contact_for(ctx.session, address, None, ctx.now)
        tickets.add_participant(ctx.session, ticket, contact, "cc", ctx.now)
