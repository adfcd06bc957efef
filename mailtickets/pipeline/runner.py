"""Run the steps, in order, on one message: plain tuples, like Mailman's pipelines.

Parsing makes the `Received` message the screening steps share; `identify_sender` turns it
into the `MessageContext` of the steps that apply it to a ticket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from mailtickets.db.models import InboundMessage, Ticket
from mailtickets.errors import Stop
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext, PipelineConfig, Received
from mailtickets.pipeline.steps.apply import apply_to_ticket
from mailtickets.pipeline.steps.assign import assign_new_ticket
from mailtickets.pipeline.steps.dedupe import drop_duplicates
from mailtickets.pipeline.steps.loops import detect_automated
from mailtickets.pipeline.steps.match import match_ticket
from mailtickets.pipeline.steps.notify import enqueue_mail
from mailtickets.pipeline.steps.oncall import assign_on_call
from mailtickets.pipeline.steps.parse import parse_message, written_at
from mailtickets.pipeline.steps.rules import apply_routing, evaluate_rules
from mailtickets.pipeline.steps.sender import identify_sender
from mailtickets.pipeline.steps.sla import update_sla
from mailtickets.pipeline.steps.spam import hold_spam
from mailtickets.pipeline.steps.text import cut_our_words, extract_new_text

log = logging.getLogger(__name__)

#: Before the sender is known: robots, loops and duplicates end here.
SCREENING: tuple[Callable[[Received], None], ...] = (detect_automated, drop_duplicates)
#: After it: read the new text (threading by subject compares what is left, the quote), find
#: the ticket, route, change the ticket, queue the mail.
APPLYING: tuple[Callable[[MessageContext], None], ...] = (
    extract_new_text,
    match_ticket,
    cut_our_words,
    evaluate_rules,
    hold_spam,
    apply_to_ticket,
    apply_routing,
    assign_on_call,
    assign_new_ticket,
    enqueue_mail,
    update_sla,
)


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    #: The ticket the message ended on; None when it was dropped before reaching one.
    ticket: Ticket | None


def run_pipeline(
    intake: InboundMessage, session: Session, now: datetime, config: PipelineConfig
) -> Result:
    """Process `intake`; return how it ended (new_ticket, follow_up, duplicate, …).

    Raises `Quarantine` for a message no retry can help, anything else for a failure that a
    retry might.
    """
    mail = parse_message(intake)
    # Mail imported as history happened when it says it did: what it changes is dated so.
    when = written_at(mail, now) if intake.history else now
    received = Received(intake, session, when, config, mail)
    ctx: MessageContext | None = None
    try:
        for screen in SCREENING:
            screen(received)
        ctx = identify_sender(received)
        for step in APPLYING:
            step(ctx)
    except Stop as stop:
        log.info("intake #%s: %s (%s)", intake.id, stop.outcome, stop.reason)
        return Result(stop.outcome, ctx.ticket if ctx else None)
    if ctx.outcome is None:
        raise RuntimeError(f"intake #{intake.id}: the pipeline ended without an outcome")
    log.info(
        "intake #%s: %s, ticket #%s, message-id %s%s",
        intake.id,
        ctx.outcome,
        ctx.ticket.id if ctx.ticket else None,
        ctx.message_id,
        f", matched by {ctx.matched_by}" if ctx.matched_by else "",
    )
    return Result(ctx.outcome, ctx.ticket)
