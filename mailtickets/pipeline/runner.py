"""Run the steps, in order, on one message: a plain tuple, like Mailman's pipelines."""

from __future__ import annotations

import logging

from mailtickets.errors import Stop
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext
from mailtickets.pipeline.steps.apply import apply_to_ticket
from mailtickets.pipeline.steps.dedupe import drop_duplicates
from mailtickets.pipeline.steps.loops import detect_automated
from mailtickets.pipeline.steps.match import match_ticket
from mailtickets.pipeline.steps.notify import enqueue_mail
from mailtickets.pipeline.steps.parse import parse_message
from mailtickets.pipeline.steps.rules import apply_routing, evaluate_rules
from mailtickets.pipeline.steps.sender import identify_sender
from mailtickets.pipeline.steps.sla import update_sla
from mailtickets.pipeline.steps.spam import hold_spam
from mailtickets.pipeline.steps.text import extract_new_text

log = logging.getLogger(__name__)

STEPS = (
    parse_message,
    detect_automated,
    drop_duplicates,
    identify_sender,
    match_ticket,
    extract_new_text,
    evaluate_rules,
    hold_spam,
    apply_to_ticket,
    apply_routing,
    enqueue_mail,
    update_sla,
)


def run_pipeline(ctx: MessageContext) -> Outcome:
    """Process `ctx.intake`; return the outcome (new_ticket, follow_up, duplicate, …).

    Raises `Quarantine` for a message no retry can help, anything else for a failure that a
    retry might.
    """
    try:
        for step in STEPS:
            step(ctx)
    except Stop as stop:
        log.info("intake #%s: %s (%s)", ctx.intake.id, stop.outcome, stop.reason)
        ctx.outcome = stop.outcome
        return stop.outcome
    if ctx.outcome is None:
        raise RuntimeError(f"intake #{ctx.intake.id}: the pipeline ended without an outcome")
    ticket = ctx.ticket.id if ctx.ticket else None
    log.info(
        "intake #%s: %s, ticket #%s, message-id %s%s",
        ctx.intake.id,
        ctx.outcome,
        ticket,
        ctx.message_id,
        f", matched by {ctx.matched_by}" if ctx.matched_by else "",
    )
    return ctx.outcome
