"""Routing rules at intake: evaluated before the ticket changes, applied to a ticket they open.

`evaluate_rules` reads the `[[rule]]` list (pure, `mail.rules`) and, for a message that will
open a ticket, picks its queue; `apply_routing` then sets the new ticket's priority, tags
and assignee. A rule's macro is answered in the acknowledgement (`automatic_answer`). Rules
only route new tickets: a follow-up stays where its conversation is.
"""

from __future__ import annotations

import logging
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import select

from mailtickets.db.models import Agent, EventKind, Priority, Ticket
from mailtickets.mail.rules import Incoming, evaluate
from mailtickets.outbound.render import render
from mailtickets.pipeline.context import MessageContext
from mailtickets.services import tickets

log = logging.getLogger(__name__)


def evaluate_rules(ctx: MessageContext) -> None:
    # An agent proved by their signed address is answering, not writing in.
    if not ctx.config.rules or ctx.agent is not None or ctx.bounce is not None:
        return
    incoming = Incoming(ctx.mail, ctx.sender_address, tuple(ctx.recipients()))
    ctx.routing = evaluate(ctx.config.rules, incoming)
    if ctx.routing.queue and ctx.ticket is None:
        ctx.queue = ctx.config.queue_for(ctx.routing.queue) or ctx.queue


def apply_routing(ctx: MessageContext) -> None:
    routing, ticket = ctx.routing, ctx.ticket
    if routing is None or not routing.matched or ticket is None or not ctx.created:
        return
    actor = f"rules: {', '.join(routing.matched)}"[:320]
    if routing.priority:
        priority = Priority(routing.priority)
        tickets.set_priority(ctx.session, ticket, priority, ctx.now, actor, sla=ctx.config.sla)
    for tag in routing.tags:
        tickets.add_tag(ctx.session, ticket, tag, ctx.now, actor)
    if routing.assignee:
        agent = ctx.session.scalar(select(Agent).where(Agent.address == routing.assignee))
        if agent is not None and agent.active:
            tickets.assign(ctx.session, ticket, agent, ctx.now, actor)
    tickets.record(
        ctx.session, ticket, EventKind.ROUTED, ctx.now, actor, rules=list(routing.matched)
    )


def automatic_answer(
    ctx: MessageContext, ticket: Ticket, locale: str, context: dict[str, Any]
) -> dict[str, str] | None:
    """The canned answer a rule attached to this new ticket, rendered for the customer."""
    macro = ctx.routing.macro if ctx.routing and ctx.created else None
    if macro is None:
        return None
    try:
        answer = render(ctx.config.templates, f"macros/{macro}", locale, context)
    except (TemplateError, ValueError) as exc:
        # The acknowledgement still goes out; the ticket's history says what was missing.
        log.warning("ticket #%s: macro %s cannot be rendered: %s", ticket.id, macro, exc)
        tickets.record(ctx.session, ticket, EventKind.MACRO_FAILED, ctx.now, None, macro=macro)
        return None
    tickets.record(
        ctx.session, ticket, EventKind.ANSWERED_AUTOMATICALLY, ctx.now, None, macro=macro
    )
    return {"title": answer.subject, "text": answer.text.strip(), "html": answer.html or ""}
