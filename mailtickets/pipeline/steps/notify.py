"""Step 8: enqueue the mail the change causes, in the same transaction.

A new ticket is acknowledged to the customer (never for automated mail, never to a suppressed
address, at most `max_acknowledgements_per_hour` per sender) and announced to the queue's
agents; a customer's follow-up is announced to the assignee, or to the queue's agents while
nobody is assigned; a hard bounce is reported to them too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from mailtickets.db.models import Agent, Event, Ticket
from mailtickets.mail.subjects import tagged
from mailtickets.mail.tokens import marker, reply_token
from mailtickets.outbound.outbox import enqueue
from mailtickets.pipeline.context import MessageContext
from mailtickets.services.tickets import record

AGENT_TOKEN_LIFETIME = timedelta(days=90)
ACKNOWLEDGED = "acknowledgement_queued"


def enqueue_mail(ctx: MessageContext) -> None:
    if ctx.ticket is None:
        return
    if ctx.outcome == "new_ticket" and ctx.automated is None:
        _acknowledge(ctx, ctx.ticket)
        _notify_agents(ctx, ctx.ticket, "agent/new_ticket")
    elif ctx.outcome == "follow_up":
        _notify_agents(ctx, ctx.ticket, "agent/customer_replied")
    elif ctx.outcome == "bounce" and ctx.bounce is not None and ctx.bounce.permanent:
        _notify_agents(ctx, ctx.ticket, "agent/delivery_failed")


def _reply_address(ctx: MessageContext, ticket: Ticket, agent_id: int | None) -> str:
    expires = ctx.now + AGENT_TOKEN_LIFETIME if agent_id else None
    token = reply_token(ctx.config.secret, ticket.id, agent_id, expires)
    local, _, domain = ticket.queue.address.partition("@")
    return f"{local}+{token}@{domain}"


def _context(ctx: MessageContext, ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_id": ticket.id,
        "subject": tagged(ctx.config.subject_prefix, ticket.id, ticket.subject),
        "ticket_subject": ticket.subject,
        "status": ticket.status.value,
        "queue_name": ticket.queue.name,
        "queue_address": ticket.queue.address,
        "customer_name": ticket.contact.name,
        "customer_address": ticket.contact.address,
        "new_text": ctx.new_text,
        "omitted_attachments": list(ctx.omitted_attachments),
        "marker": marker(ctx.config.secret, ticket.id),
    }


def _acknowledge(ctx: MessageContext, ticket: Ticket) -> None:
    customer = ticket.contact
    if customer.suppressed_at is not None:
        record(
            ctx.session,
            ticket,
            "acknowledgement_withheld",
            ctx.now,
            customer.address,
            why=f"address suppressed: {customer.suppressed_reason}",
        )
        return
    since = ctx.now - timedelta(hours=1)
    recent = ctx.session.scalar(
        select(func.count(Event.id)).where(
            Event.kind == ACKNOWLEDGED, Event.actor == customer.address, Event.at > since
        )
    )
    if (recent or 0) >= ctx.config.max_acknowledgements_per_hour:
        record(
            ctx.session,
            ticket,
            "acknowledgement_withheld",
            ctx.now,
            customer.address,
            why=f"more than {ctx.config.max_acknowledgements_per_hour} in an hour",
        )
        return
    context = _context(ctx, ticket) | {"reply_to": _reply_address(ctx, ticket, None)}
    enqueue(
        ctx.session,
        template="customer/acknowledgement",
        locale=customer.locale or ticket.queue.locale,
        recipients=[customer.address],
        ticket=ticket,
        context=context,
        now=ctx.now,
        secret=ctx.config.secret,
        domain=ticket.queue.address.partition("@")[2],
        in_reply_to=ctx.message_id,
        references=[*ctx.mail.references, ctx.message_id],
    )
    record(ctx.session, ticket, ACKNOWLEDGED, ctx.now, customer.address)


def _notify_agents(ctx: MessageContext, ticket: Ticket, template: str) -> None:
    if ticket.assignee is not None:
        agents = [ticket.assignee]
    else:
        queue = next(q for q in ctx.config.queues if q.address.lower() == ticket.queue.address)
        addresses = [a.address.lower() for a in ctx.config.agents_of(queue)]
        query = select(Agent).where(Agent.address.in_(addresses), Agent.active.is_(True))
        agents = list(ctx.session.scalars(query.order_by(Agent.id)))
    base = _context(ctx, ticket)
    for agent in agents:
        enqueue(
            ctx.session,
            template=template,
            locale=ticket.queue.locale,
            recipients=[agent.address],
            ticket=ticket,
            context=base
            | {"agent_name": agent.name, "reply_to": _reply_address(ctx, ticket, agent.id)},
            now=ctx.now,
            secret=ctx.config.secret,
            domain=ticket.queue.address.partition("@")[2],
            in_reply_to=ctx.message_id,
            references=[*ctx.mail.references, ctx.message_id],
        )
