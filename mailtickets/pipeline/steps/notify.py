"""Enqueue the mail the change causes, in the same transaction.

A new ticket is acknowledged to the customer (never for automated mail, never to a suppressed
address, at most `max_acknowledgements_per_hour` per sender), with the canned answer a rule
attached, and announced to the queue's agents (only to its assignee, if it has one, unless
the queue's `notify_new` is "all"); a customer's follow-up is announced to the assignee and
the ticket's followers, or to the queue's agents while nobody is assigned; a hard bounce is
reported to them too. The agents' notices carry the message's files (`outbox.attachments`).
A file the intake did not keep for its size is named to the customer: in the acknowledgement
of a new ticket, and for a follow-up in one `customer/attachment_too_large` mail.
A flood from one sender becomes one notice and a summary (`services.floods`).
Mail imported as history causes none of it: it was answered, or not, long ago.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from mailtickets.db.models import Event, EventKind, Ticket
from mailtickets.outbox.attachments import choose, of_message
from mailtickets.outbox.context import ticket_context
from mailtickets.outbox.enqueue import enqueue
from mailtickets.outbox.notices import notify_agents, reply_address
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext
from mailtickets.pipeline.steps.rules import automatic_answer
from mailtickets.services import floods, oncall
from mailtickets.services.tickets import record


def enqueue_mail(ctx: MessageContext) -> None:
    if ctx.ticket is None or ctx.history:
        return
    if ctx.outcome == Outcome.NEW_TICKET and ctx.automated is None:
        # Built once: the customer's and the agents' mail show the same ticket.
        context = _context(ctx, ctx.ticket)
        if ctx.on_behalf_by is None:
            _acknowledge(ctx, ctx.ticket, context)
        queue = ctx.config.queue_for(ctx.ticket.queue.address)
        to_assignee = queue is None or queue.notify_new == "assignee"
        _customer_notice(ctx, ctx.ticket, "agent/new_ticket", context, to_assignee=to_assignee)
    elif ctx.outcome == Outcome.FOLLOW_UP:
        _customer_notice(ctx, ctx.ticket, "agent/customer_replied", _context(ctx, ctx.ticket))
        if ctx.omitted_attachments and ctx.automated is None:
            _files_too_large(ctx, ctx.ticket)
    elif ctx.outcome == Outcome.BOUNCE and ctx.bounce is not None and ctx.bounce.permanent:
        failed = [f for f in ctx.bounce.failures if f.permanent]
        failure = {
            "recipient": ", ".join(f.recipient for f in failed),
            "status": ", ".join(dict.fromkeys(f.status for f in failed)),
            "reason": f"delivery report for {ctx.bounce.original_message_id}",
        }
        _notify_agents(
            ctx, ctx.ticket, "agent/delivery_failed", _context(ctx, ctx.ticket, failure=failure)
        )


def _context(ctx: MessageContext, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    author = f"{ctx.sender_name} <{ctx.sender_address}>" if ctx.sender_name else ctx.sender_address
    return ticket_context(
        ctx.session,
        ticket,
        ctx.config.subject_prefix,
        author=author,
        new_text=ctx.new_text,
        omitted_attachments=list(ctx.omitted_attachments),
        **extra,
    )


def _acknowledge(ctx: MessageContext, ticket: Ticket, context: dict[str, Any]) -> None:
    customer = ticket.contact
    if customer.suppressed_at is not None:
        record(
            ctx.session,
            ticket,
            EventKind.ACKNOWLEDGEMENT_WITHHELD,
            ctx.now,
            customer.address,
            why=f"address suppressed: {customer.suppressed_reason}",
        )
        return
    since = ctx.now - timedelta(hours=1)
    recent = ctx.session.scalar(
        select(func.count(Event.id)).where(
            Event.kind == EventKind.ACKNOWLEDGEMENT_QUEUED,
            Event.actor == customer.address,
            Event.at > since,
        )
    )
    if (recent or 0) >= ctx.config.max_acknowledgements_per_hour:
        record(
            ctx.session,
            ticket,
            EventKind.ACKNOWLEDGEMENT_WITHHELD,
            ctx.now,
            customer.address,
            why=f"more than {ctx.config.max_acknowledgements_per_hour} in an hour",
        )
        return
    locale = customer.locale or ticket.queue.locale
    acknowledgement = context | {
        "reply_to": reply_address(ctx.config.secret, ticket, None, ctx.now)
    }
    acknowledgement["answer"] = automatic_answer(ctx, ticket, locale, acknowledgement)
    acknowledgement["expect"] = oncall.expectation(
        ctx.session, ticket, ctx.config.sla, ctx.now, locale
    )
    enqueue(
        ctx.session,
        template="customer/acknowledgement",
        locale=locale,
        recipients=[customer.address],
        ticket=ticket,
        context=acknowledgement,
        now=ctx.now,
        secret=ctx.config.secret,
        in_reply_to=ctx.message_id,
        references=[*ctx.mail.references, ctx.message_id],
    )
    record(ctx.session, ticket, EventKind.ACKNOWLEDGEMENT_QUEUED, ctx.now, customer.address)


def _files_too_large(ctx: MessageContext, ticket: Ticket) -> None:
    """Tell the customer which files of their follow-up were too large to keep, once."""
    customer = ctx.sender
    if customer is None or customer.suppressed_at is not None:
        return
    enqueue(
        ctx.session,
        template="customer/attachment_too_large",
        locale=customer.locale or ticket.queue.locale,
        recipients=[customer.address],
        ticket=ticket,
        context=_context(ctx, ticket)
        | {"reply_to": reply_address(ctx.config.secret, ticket, None, ctx.now)},
        now=ctx.now,
        secret=ctx.config.secret,
        in_reply_to=ctx.message_id,
        references=[*ctx.mail.references, ctx.message_id],
    )


def _customer_notice(
    ctx: MessageContext,
    ticket: Ticket,
    template: str,
    context: dict[str, Any],
    *,
    to_assignee: bool = True,
) -> None:
    """`template` to the agents, unless the sender floods (`services.floods`): then the
    notice is withheld, and the first one withheld tells the agents of the flood."""
    flood = None
    if ctx.sender is not None and ctx.on_behalf_by is None:
        flood = floods.tally(ctx.session, ticket, ctx.sender, ctx.now, ctx.config.flood_threshold)
    if flood is None:
        _notify_agents(ctx, ticket, template, context, to_assignee=to_assignee)
        return
    record(
        ctx.session,
        ticket,
        EventKind.NOTICE_WITHHELD,
        ctx.now,
        ctx.sender_address,
        flood=flood.source,
        messages=flood.messages,
    )
    if flood.began:
        began = floods.flood_context(
            flood.source, flood.messages, ticket.id, ticket.id, ctx.config.flood_threshold,
            over=False,
        )  # fmt: skip
        floods.announce(
            ctx.session,
            ticket,
            context | {"flood": began},
            queues=ctx.config.queues,
            agents=ctx.config.agents,
            secret=ctx.config.secret,
            now=ctx.now,
        )


def _notify_agents(
    ctx: MessageContext,
    ticket: Ticket,
    template: str,
    context: dict[str, Any],
    *,
    to_assignee: bool = True,
) -> None:
    """`template` to the agents who hear of `ticket`, with the message's files."""
    files = of_message(ctx.session, ticket, ctx.attachments)
    notify_agents(
        ctx.session,
        ticket,
        template,
        context,
        queues=ctx.config.queues,
        agents=ctx.config.agents,
        secret=ctx.config.secret,
        now=ctx.now,
        in_reply_to=ctx.message_id,
        references=[*ctx.mail.references, ctx.message_id],
        files=choose(ctx.session, files, ctx.config.max_attachments_size),
        shows=ctx.message_id,
        to_assignee=to_assignee,
        opened_by_shown=ctx.created and ctx.on_behalf_by is None,
    )
