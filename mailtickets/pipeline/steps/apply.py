"""Step 7: change the ticket through the tickets service: create, follow up, record robots
and satisfaction ratings."""

from __future__ import annotations

from sqlalchemy import select

from mailtickets.db.models import (
    Agent,
    EventKind,
    MessageKind,
    OutboundMessage,
    Queue,
    Ticket,
)
from mailtickets.errors import Stop
from mailtickets.mail.addresses import normalise
from mailtickets.mail.authresults import authenticated
from mailtickets.mail.commands import parse_commands
from mailtickets.mail.subjects import clean
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext
from mailtickets.pipeline.steps.agent_reply import record_agent_reply
from mailtickets.pipeline.steps.loops import AUTOMATED_OUTCOMES
from mailtickets.pipeline.steps.satisfaction import record_satisfaction
from mailtickets.pipeline.store import store_message
from mailtickets.services import contacts, tickets


def apply_to_ticket(ctx: MessageContext) -> None:
    if ctx.bounce is not None:
        _record_bounce(ctx)
    elif ctx.automated is not None:
        _record_automated(ctx)
    elif ctx.agent is not None:
        record_agent_reply(ctx)
    elif not (ctx.survey and record_satisfaction(ctx)):
        # Also a survey answer with no rating in it: that customer wants help, not a score.
        _record_customer_message(ctx)


def _record_customer_message(ctx: MessageContext) -> None:
    if _open_on_behalf(ctx):
        return
    sender = tickets.contact_for(ctx.session, ctx.sender_address, ctx.sender_name, ctx.now)
    ctx.sender = sender
    contacts.heard_from(sender)
    language = _language(ctx.mail.header("Content-Language"))
    if language is not None and sender.locale is None:
        sender.locale = language  # the customer's own language wins over the queue's
    previous = ctx.ticket
    if previous is not None and tickets.closed_too_long(previous, ctx.now, ctx.config.reopen_grace):
        ctx.ticket = None
    if ctx.ticket is None:
        _open(ctx, linked_to=previous)
    else:
        tickets.customer_wrote(ctx.session, ctx.ticket, ctx.now, sender.address)
        if ctx.ignored_reference:
            tickets.record(
                ctx.session,
                ctx.ticket,
                EventKind.REFERENCE_IGNORED,
                ctx.now,
                sender.address,
                **ctx.ignored_reference,
            )
        is_agent = ctx.config.agent(sender.address) is not None
        if not is_agent and tickets.add_participant(ctx.session, ctx.ticket, sender, "cc", ctx.now):
            tickets.record(
                ctx.session,
                ctx.ticket,
                EventKind.JOINED,
                ctx.now,
                sender.address,
                matched_by=ctx.matched_by,
            )
        ctx.outcome = Outcome.FOLLOW_UP
    store_message(ctx, MessageKind.CUSTOMER, author_contact_id=sender.id)
    _add_copied_participants(ctx)


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
    ctx.sender = tickets.contact_for(ctx.session, customers[-1], None, ctx.now)
    ctx.on_behalf_by, ctx.new_text = ctx.sender_address, parsed.text
    _open(ctx)
    assert ctx.ticket is not None
    tickets.record(
        ctx.session,
        ctx.ticket,
        EventKind.OPENED_ON_BEHALF,
        ctx.now,
        ctx.sender_address,
        customer=ctx.sender.address,
    )
    author = ctx.session.scalar(select(Agent).where(Agent.address == ctx.sender_address))
    store_message(ctx, MessageKind.CUSTOMER, author_agent_id=author.id if author else None)
    return True


def _open(ctx: MessageContext, linked_to: Ticket | None = None) -> None:
    assert ctx.queue is not None and ctx.sender is not None
    queue = ctx.session.scalar(select(Queue).where(Queue.address == normalise(ctx.queue.address)))
    if queue is None:
        raise LookupError(f"queue {ctx.queue.address} is not in the database; restart to sync")
    why = dict(ctx.ignored_reference or {})
    ctx.ticket = tickets.open_ticket(
        ctx.session,
        queue,
        ctx.sender,
        clean(ctx.mail.subject),
        ctx.now,
        linked_to=linked_to,
        why=why,
    )
    ctx.created, ctx.outcome = True, Outcome.NEW_TICKET


def _add_copied_participants(ctx: MessageContext) -> None:
    """Addresses the customer copied become participants; never ours, never agents'."""
    assert ctx.ticket is not None
    agents = {normalise(a.address) for a in ctx.config.agents}
    skip = ctx.config.own_addresses | agents | {ctx.sender_address}
    for address in (*ctx.mail.to, *ctx.mail.cc):
        if address in skip or ctx.config.queue_for(address) is not None:
            continue
        contact = tickets.contact_for(ctx.session, address, None, ctx.now)
        tickets.add_participant(ctx.session, ctx.ticket, contact, "cc", ctx.now)


def _record_automated(ctx: MessageContext) -> None:
    assert ctx.automated is not None
    if ctx.ticket is not None:
        store_message(ctx, MessageKind.AUTO)
        ctx.outcome = AUTOMATED_OUTCOMES[ctx.automated.kind]
        return
    if not ctx.config.tickets_from_auto_replies:
        raise Stop(
            AUTOMATED_OUTCOMES[ctx.automated.kind], f"{ctx.automated.reason}; belongs to no ticket"
        )
    ctx.sender = tickets.contact_for(ctx.session, ctx.sender_address, ctx.sender_name, ctx.now)
    _open(ctx)
    store_message(ctx, MessageKind.AUTO, author_contact_id=ctx.sender.id)


def _record_bounce(ctx: MessageContext) -> None:
    assert ctx.bounce is not None and ctx.automated is not None
    if ctx.ticket is None:
        raise Stop(Outcome.BOUNCE, "delivery report for a message we did not send")
    store_message(ctx, MessageKind.BOUNCE)
    tickets.record(
        ctx.session,
        ctx.ticket,
        EventKind.DELIVERY_FAILED if ctx.bounce.permanent else EventKind.DELIVERY_DELAYED,
        ctx.now,
        ctx.sender_address,
        original=ctx.bounce.original_message_id,
        failures=[
            {"recipient": f.recipient, "action": f.action, "status": f.status}
            for f in ctx.bounce.failures
        ],
    )
    # Only a report about mail we sent, for an address we sent it to, may suppress anyone:
    # anybody can write a delivery report about anything.
    original = ctx.bounce.original_message_id
    sent = (
        ctx.session.scalar(select(OutboundMessage).where(OutboundMessage.message_id == original))
        if original
        else None
    )
    for failure in ctx.bounce.failures:
        if sent is None or failure.recipient not in sent.recipients:
            continue
        reason = f"{failure.action} {failure.status} for {original}"
        if failure.permanent:
            contacts.suppress(ctx.session, failure.recipient, f"hard bounce: {reason}", ctx.now)
        elif failure.action == "delayed":
            contacts.soft_bounce(ctx.session, failure.recipient, reason, ctx.now)
    ctx.outcome = Outcome.BOUNCE
