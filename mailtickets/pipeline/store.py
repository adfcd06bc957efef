"""What a handler writes: a new ticket for the message, and the message on its ticket."""

from __future__ import annotations

from sqlalchemy import select

from mailtickets.db import files
from mailtickets.db.models import Contact, Message, MessageKind, Queue, Ticket
from mailtickets.mail.addresses import normalise
from mailtickets.mail.subjects import clean
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext
from mailtickets.services import tickets


def open_ticket(ctx: MessageContext, sender: Contact, linked_to: Ticket | None = None) -> Ticket:
    """A new ticket in the message's queue for `sender`; the message is its first."""
    queue = ctx.session.scalar(select(Queue).where(Queue.address == normalise(ctx.queue.address)))
    if queue is None:
        raise LookupError(f"queue {ctx.queue.address} is not in the database; restart to sync")
    ticket = tickets.open_ticket(
        ctx.session,
        queue,
        sender,
        clean(ctx.mail.subject),
        ctx.now,
        linked_to=linked_to,
        why=dict(ctx.ignored_reference or {}),
        imported_at=ctx.intake.received_at if ctx.history else None,
    )
    ctx.sender, ctx.ticket = sender, ticket
    ctx.created, ctx.outcome = True, Outcome.NEW_TICKET
    return ticket


def store_message(
    ctx: MessageContext,
    ticket: Ticket,
    kind: MessageKind,
    author_contact_id: int | None = None,
    author_agent_id: int | None = None,
) -> None:
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
        # History was received when it was written, not when it was imported.
        received_at=ctx.now if ctx.history else ctx.intake.received_at,
        body_text=mail.text,
        new_text=ctx.new_text,
        inbound_id=ctx.intake.id,
    )
    verdict = ctx.automated
    # Which signal made it a robot's mail, so that an agent can see why nobody answered it.
    detail = {"automated": verdict.signal, "why": verdict.reason} if verdict else {}
    # A message that opened its ticket was matched to none (a long-closed one at most).
    if ctx.matched_by and not ctx.created:
        detail["matched_by"] = ctx.matched_by
    tickets.add_message(ctx.session, ticket, message, ctx.now, **detail)
    limit = ctx.config.max_attachment_size
    for part in mail.attachments:
        stored = files.store(
            ctx.session,
            message.id,
            filename=part.filename,
            content_type=part.content_type,
            pieces=part.pieces(),
            inline=part.inline,
            content_id=part.content_id,
            limit=limit,
        )
        if stored.omitted is not None and not part.inline:
            ctx.omitted_attachments.append(part.filename)
        ctx.attachments.append(stored)
    ctx.intake.ticket_id = ticket.id
    ctx.session.flush()  # the mail about the message names its files by id
