"""An agent's answer on its way to the customer: in the agent's own formatting, with their
files, threaded on what the customer has seen.

The HTML is the agent's own (`mail.agenthtml`: quotes, signature and commands cut, remote
images dropped, sanitised) and the text part is made from it. Files go under `[outgoing]
max_attachments_size`; those that do not fit, and those the intake did not keep, stay behind
and the agent is told in one mail. Images the answer no longer shows (a signature logo, the
quoted history's) stay behind silently. In-Reply-To and References name only mail the
customer has seen: theirs and ours to them, never an agent's notice or the agent's own mail.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from markupsafe import escape
from sqlalchemy import select

from mailtickets.db.models import (
    EventKind,
    Message,
    MessageKind,
    OutboundMessage,
    OutboundStatus,
    Ticket,
)
from mailtickets.mail.agenthtml import ReplyHtml, reply_html
from mailtickets.mail.htmltext import html_to_text
from mailtickets.outbox.attachments import NO_FILES, Choice, choose, content_id, of_message
from mailtickets.outbox.context import mailed_and_pending, ticket_context
from mailtickets.outbox.enqueue import enqueue
from mailtickets.outbox.notices import reply_address
from mailtickets.pipeline.context import MessageContext, ProvenAgent
from mailtickets.services import tickets

log = logging.getLogger(__name__)

_COMMAND_LINE = re.compile(r"^\s*#[^\W\d_]", re.UNICODE)
#: Mail to the customers they never got: failed, or an answer held back (`services.held`).
_NOT_SEEN = (OutboundStatus.FAILED, OutboundStatus.WITHHELD, OutboundStatus.DISCARDED)


def relay(
    ctx: MessageContext,
    ticket: Ticket,
    proven: ProvenAgent,
    text: str,
    macros: list[str],
    *,
    resolved: bool,
) -> OutboundMessage | None:
    """The agent's answer (their `text` and the `macros` they inserted) to the customer and
    every other confirmed participant; `resolved` adds that the ticket is now resolved.
    Returns the mail queued for them (None for imported history)."""
    reply, files = _formatting_and_files(ctx, ticket)
    message: dict[str, Any] = {"author": proven.row.name, "new_text": text}
    if reply is not None:
        # The macros' text, escaped, after the agent's own (already sanitised) HTML.
        html = reply.html + "".join(f"<p>{_lines_html(m)}</p>" for m in macros)
        message = message | {"new_text": "\n\n".join([html_to_text(reply.html), *macros])}
        message["html"] = html
    author = {"name": proven.row.name, "signature": proven.settings.signature}
    context = ticket_context(ctx.session, ticket, ctx.config.subject_prefix, agent=author)
    context |= {"message": message, "resolved": resolved}
    mail = tell_customer(ctx, ticket, "customer/agent_reply", context, files)
    if files.left or files.not_kept:
        _files_not_sent(ctx, ticket, proven, files)
    return mail


def _formatting_and_files(ctx: MessageContext, ticket: Ticket) -> tuple[ReplyHtml | None, Choice]:
    """The agent's HTML, if it is to be used, and the files of their message that go with it."""
    candidates = of_message(ctx.session, ticket, ctx.attachments)
    images = {f.row.content_id: content_id(f.row) for f in candidates if f.row.content_id}
    reply = _formatting(ctx, images)
    if ctx.mail.html is not None:
        shown = reply.shown if reply else frozenset()
        # Images of a signature or of the quoted history that the answer no longer shows.
        candidates = [
            f
            for f in candidates
            if not (f.row.inline and f.row.content_id and f.row.content_id not in shown)
        ]
    show = {f.row.id for f in candidates if reply and f.row.content_id in reply.shown}
    files = choose(ctx.session, candidates, ctx.config.max_attachments_size, show=show)
    if reply is not None and show - files.in_place:
        # An image that is not carried (over the cap, or not the image it claims) is dropped
        # from the text, which would otherwise point at nothing.
        shown_now = [f.row for f in files.carried if f.row.id in files.in_place]
        reply = _formatting(ctx, {r.content_id: content_id(r) for r in shown_now if r.content_id})
    return reply, files


def _formatting(ctx: MessageContext, images: dict[str, str]) -> ReplyHtml | None:
    """The agent's HTML for the customer; None to send their text instead."""
    if ctx.mail.html is None:
        return None
    if ctx.quoted_our_words:
        # Our notice was found in the text and cut there; the HTML may quote it in a way its
        # own cut does not see, and our words must never reach the customer.
        log.info("message-id %s: the agent quoted our notice; their text is sent", ctx.message_id)
        return None
    reply = reply_html(ctx.mail.html, images)
    if reply is None:
        log.info(
            "message-id %s: the agent's HTML leaves nothing to send; text sent", ctx.message_id
        )
        return None
    first = next((line for line in html_to_text(reply.html).split("\n") if line.strip()), "")
    if _COMMAND_LINE.match(first):
        # A command the HTML hid from the cut (split over elements): never to the customer.
        log.warning("message-id %s: a command line survives in the HTML; text sent", ctx.message_id)
        return None
    return reply


def _lines_html(text: str) -> str:
    return "<br>".join(str(escape(line)) for line in text.split("\n"))


def tell_customer(
    ctx: MessageContext,
    ticket: Ticket,
    template: str,
    context: dict[str, Any],
    files: Choice = NO_FILES,
) -> OutboundMessage | None:
    """Mail `template` to the ticket's confirmed participants (never the pending ones),
    continuing their conversation; return that mail (None for imported history)."""
    if ctx.history:
        return None  # imported history: it reached them when it was written
    recipients = _recipients(ctx, ticket)
    in_reply_to, references = customer_thread(ctx, ticket)
    variables = context | {
        "reply_to": reply_address(ctx.config.secret, ticket, None, ctx.now),
        "files": files.context(ticket.id),
    }
    return enqueue(
        ctx.session,
        template=template,
        locale=ticket.contact.locale or ticket.queue.locale,
        recipients=recipients,
        ticket=ticket,
        context=variables,
        now=ctx.now,
        secret=ctx.config.secret,
        in_reply_to=in_reply_to,
        references=references,
        attachments=files.attachments(),
    )


def _recipients(ctx: MessageContext, ticket: Ticket) -> list[str]:
    """The ticket's confirmed participants, the customer first, at most `[outgoing]
    max_recipients` of them; those left out are named on the ticket."""
    mailed, _ = mailed_and_pending(ctx.session, ticket)
    mailed = [r for r in mailed if r not in ctx.config.own_addresses]
    cap = ctx.config.max_recipients
    if len(mailed) > cap:
        tickets.record(
            ctx.session,
            ticket,
            EventKind.RECIPIENTS_CAPPED,
            ctx.now,
            None,
            left_out=mailed[cap:],
            max_recipients=cap,
        )
    return mailed[:cap]


def customer_thread(ctx: MessageContext, ticket: Ticket) -> tuple[str | None, list[str]]:
    """The customers' latest Message-ID, and every one they have seen in order: their mail
    and ours to them (on this ticket or one merged into it), never internal mail."""
    session = ctx.session
    theirs = session.execute(
        select(Message.received_at, Message.message_id).where(
            Message.ticket_id == ticket.id,
            Message.direction == "in",
            Message.kind == MessageKind.CUSTOMER,
            # An agent's own mail opening a ticket for a customer (#customer) is internal.
            Message.author_agent_id.is_(None),
        )
    ).all()
    merged = select(Ticket.id).where(Ticket.merged_into_id == ticket.id)
    ours = session.execute(
        select(OutboundMessage.created_at, OutboundMessage.message_id).where(
            (OutboundMessage.ticket_id == ticket.id) | OutboundMessage.ticket_id.in_(merged),
            OutboundMessage.template.like("customer/%"),
            OutboundMessage.status.not_in(_NOT_SEEN),
        )
    ).all()
    latest = max(theirs, default=None)
    seen = sorted([*theirs, *ours])
    return (latest[1] if latest else None), list(dict.fromkeys(m for _, m in seen))


def _files_not_sent(
    ctx: MessageContext, ticket: Ticket, proven: ProvenAgent, files: Choice
) -> None:
    agent = proven.row
    context = ticket_context(
        ctx.session,
        ticket,
        ctx.config.subject_prefix,
        agent={"name": agent.name, "signature": ""},
        files=Choice(left=files.left, not_kept=files.not_kept, cap=files.cap).context(ticket.id),
        reply_to=reply_address(ctx.config.secret, ticket, agent.id, ctx.now),
    )
    enqueue(
        ctx.session,
        template="agent/files_not_sent",
        locale=ticket.queue.locale,
        recipients=[agent.address],
        ticket=ticket,
        context=context,
        now=ctx.now,
        secret=ctx.config.secret,
        in_reply_to=ctx.message_id,
    )
