"""Step 7: change the ticket through the tickets service: create, follow up, record robots."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from mailtickets.db.models import (
    Agent,
    Attachment,
    Message,
    MessageKind,
    Queue,
    Ticket,
    TicketStatus,
)
from mailtickets.mail.addresses import normalise
from mailtickets.mail.loops import Automated
from mailtickets.mail.subjects import clean
from mailtickets.pipeline.context import MessageContext, Stop
from mailtickets.services import contacts, tickets


def apply_to_ticket(ctx: MessageContext) -> None:
    if ctx.bounce is not None:
        _record_bounce(ctx)
    elif ctx.automated is not None:
        _record_automated(ctx)
    elif ctx.agent is not None:
        _record_agent_reply(ctx)
    else:
        _record_customer_message(ctx)


def _record_customer_message(ctx: MessageContext) -> None:
    sender = tickets.contact_for(ctx.session, ctx.sender_address, ctx.sender_name, ctx.now)
    ctx.sender = sender
    previous = ctx.ticket
    if previous is not None and tickets.closed_too_long(previous, ctx.now, ctx.config.reopen_grace):
        ctx.ticket = None
    if ctx.ticket is None:
        _open(ctx, linked_to=previous)
    else:
        tickets.customer_wrote(ctx.session, ctx.ticket, ctx.now, sender.address)
        if tickets.add_participant(ctx.session, ctx.ticket, sender, "cc", ctx.now):
            tickets.record(
                ctx.session,
                ctx.ticket,
                "joined",
                ctx.now,
                sender.address,
                matched_by=ctx.matched_by,
            )
        ctx.outcome = "follow_up"
    _store(ctx, MessageKind.CUSTOMER, author_contact_id=sender.id)
    _add_copied_participants(ctx)


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
    ctx.created, ctx.outcome = True, "new_ticket"


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


def _record_agent_reply(ctx: MessageContext) -> None:
    assert ctx.ticket is not None and ctx.agent is not None
    agent = ctx.session.scalar(select(Agent).where(Agent.address == ctx.sender_address))
    ticket = ctx.ticket
    if ticket.first_response_at is None:
        ticket.first_response_at = ctx.now
    if ticket.status is TicketStatus.OPEN:
        ticket.status = TicketStatus.PENDING
        tickets.record(ctx.session, ticket, "status", ctx.now, ctx.sender_address, status="pending")
    _store(ctx, MessageKind.AGENT, author_agent_id=agent.id if agent else None)
    ctx.outcome = "agent_reply"


def _record_automated(ctx: MessageContext) -> None:
    assert ctx.automated is not None
    if ctx.ticket is not None:
        _store(ctx, MessageKind.AUTO)
        ctx.outcome = ctx.automated.kind.value
        return
    if not ctx.config.tickets_from_auto_replies:
        raise Stop(ctx.automated.kind.value, f"{ctx.automated.reason}; belongs to no ticket")
    ctx.sender = tickets.contact_for(ctx.session, ctx.sender_address, ctx.sender_name, ctx.now)
    _open(ctx)
    _store(ctx, MessageKind.AUTO, author_contact_id=ctx.sender.id)


def _record_bounce(ctx: MessageContext) -> None:
    assert ctx.bounce is not None and ctx.automated is not None
    if ctx.ticket is None:
        raise Stop("bounce", "delivery report for a message we did not send")
    _store(ctx, MessageKind.BOUNCE)
    tickets.record(
        ctx.session,
        ctx.ticket,
        "delivery_failed" if ctx.bounce.permanent else "delivery_delayed",
        ctx.now,
        ctx.sender_address,
        original=ctx.bounce.original_message_id,
        failures=[
            {"recipient": f.recipient, "action": f.action, "status": f.status}
            for f in ctx.bounce.failures
        ],
    )
    for failure in ctx.bounce.failures:
        if failure.permanent:
            reason = f"hard bounce {failure.status} for {ctx.bounce.original_message_id}"
            contacts.suppress(ctx.session, failure.recipient, reason, ctx.now)
    ctx.outcome = Automated.BOUNCE.value


def _store(
    ctx: MessageContext,
    kind: MessageKind,
    author_contact_id: int | None = None,
    author_agent_id: int | None = None,
) -> None:
    assert ctx.ticket is not None
    mail = ctx.mail
    message = Message(
        message_id=ctx.message_id,
        direction="in",
        kind=kind,
        author_contact_id=author_contact_id,
        author_agent_id=author_agent_id,
        from_address=ctx.sender_address,
        from_name=ctx.sender_name,
        subject=mail.subject,
        date=mail.date,
        received_at=ctx.intake.received_at,
        body_text=mail.text,
        new_text=ctx.new_text,
        inbound_id=ctx.intake.id,
    )
    tickets.add_message(ctx.session, ctx.ticket, message, ctx.now)
    for part in mail.attachments:
        too_big = len(part.content) > ctx.config.max_attachment_size
        if too_big and not part.inline:
            ctx.omitted_attachments.append(part.filename)
        ctx.session.add(
            Attachment(
                message_id=message.id,
                filename=part.filename,
                content_type=part.content_type,
                size=len(part.content),
                sha256=hashlib.sha256(part.content).hexdigest(),
                inline=part.inline,
                content_id=part.content_id,
                content=None if too_big else part.content,
                omitted=f"larger than {ctx.config.max_attachment_size} bytes" if too_big else None,
            )
        )
    ctx.intake.ticket_id = ctx.ticket.id
