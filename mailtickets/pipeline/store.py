"""Store the message being processed on its ticket, with its attachments."""

from __future__ import annotations

import hashlib

from mailtickets.db.models import Attachment, Message, MessageKind
from mailtickets.pipeline.context import MessageContext
from mailtickets.services import tickets


def store_message(
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
