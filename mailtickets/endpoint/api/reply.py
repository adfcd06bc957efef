"""An agent's reply by API: the same handler as their mailed reply, in one transaction.

The reply is written down as the mail the agent would have sent (From the agent, To their
own signed reply address for the ticket) and kept in the intake as `api` mail, already
processed; then `record_agent_reply` applies it exactly as it applies a mailed one:
leading `#commands`, the answer stored and relayed to the customer and the other
participants through the outbox, the ticket left waiting on the customer. The ticket's
change and the mail it causes commit together, or neither does. Commands the handler
refuses roll everything back: the caller gets the reasons instead of the agent's error mail.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mailtickets.db.models import (
    Agent,
    Event,
    EventKind,
    InboundMessage,
    InboundRaw,
    IntakeStatus,
    Ticket,
)
from mailtickets.endpoint.api.body import json_object, text
from mailtickets.endpoint.api.context import ApiContext
from mailtickets.endpoint.api.errors import ApiError
from mailtickets.endpoint.api.params import path_number
from mailtickets.mail.addresses import normalise
from mailtickets.mail.subjects import tagged
from mailtickets.outbox.notices import reply_address
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext, ProvenAgent, Received
from mailtickets.pipeline.handlers.agent_reply import record_agent_reply
from mailtickets.pipeline.steps.parse import parse_message
from mailtickets.pipeline.steps.sla import update_sla
from mailtickets.services import tickets

log = logging.getLogger(__name__)

#: The intake source of replies written by API (beside smtp, imap, …).
SOURCE = "api"


async def reply(ctx: ApiContext, request: Request) -> Response:
    ticket_id = path_number(request, "ticket_id", "ticket")
    body = await json_object(request, {"text", "author"})
    words, author = text(body, "text", required=True), text(body, "author", required=True)
    assert words is not None and author is not None

    def write() -> dict[str, Any]:
        with ctx.sessions.begin() as session:
            done = _apply(ctx, session, ticket_id, author, words)
            errors = done.pop("errors")
            if done["outcome"] == Outcome.COMMAND_ERROR:  # raised: the transaction rolls back
                raise ApiError(422, "; ".join(errors), "command_error")
            return done

    done = await run_in_threadpool(write)
    log.info(
        "reply by api:%s from %s: %s, ticket #%s, message-id %s",
        request.state.token.name,
        author,
        done["outcome"],
        done["ticket"],
        done["message_id"],
    )
    ctx.mail_queued()
    return JSONResponse(done, status_code=201)


def _apply(
    ctx: ApiContext, session: Session, ticket_id: int, author: str, words: str
) -> dict[str, Any]:
    ticket = tickets.find(session, ticket_id)
    if ticket.merged_into_id is not None:
        raise ApiError(
            409,
            f"ticket #{ticket.id} was merged into #{ticket.merged_into_id}; reply there",
            "merged",
        )
    config = ctx.pipeline
    address = normalise(author)
    row = session.scalar(select(Agent).where(Agent.address == address))
    settings = config.agent(address)
    if row is None or not row.active or settings is None:
        raise ApiError(422, f"{author} is not an agent")
    now = ctx.clock.now()
    intake = _intake(session, ctx, ticket, row, words, now)
    received = Received(
        intake, session, now, config, parse_message(intake), intake.message_id or ""
    )
    queue = config.queue_for(ticket.queue.address) or config.queues[0]
    message = MessageContext.known(
        received, sender_address=address, sender_name=row.name, queue=queue
    )
    proven = ProvenAgent(settings, row)
    message.agent, message.ticket, message.new_text = proven, ticket, words
    message.matched_by = "api"
    record_agent_reply(message, ticket, proven)
    update_sla(message)
    intake.outcome = message.outcome
    intake.ticket_id = (message.ticket or ticket).id
    return {
        "ticket": (message.ticket or ticket).id,
        "outcome": str(message.outcome),
        "message_id": intake.message_id,
        "errors": _refused(session, ticket) if message.outcome == Outcome.COMMAND_ERROR else [],
    }


def _intake(
    session: Session, ctx: ApiContext, ticket: Ticket, agent: Agent, words: str, now: datetime
) -> InboundMessage:
    """The reply as the mail the agent would have sent, kept in the intake as processed."""
    domain = ticket.queue.address.rpartition("@")[2]
    message_id = f"api.{uuid.uuid4().hex}@{domain}"
    mail = EmailMessage()
    mail["From"] = formataddr((agent.name, agent.address))
    mail["To"] = reply_address(ctx.pipeline.secret, ticket, agent.id, now)
    mail["Subject"] = "Re: " + tagged(ctx.pipeline.subject_prefix, ticket.id, ticket.subject)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = f"<{message_id}>"
    mail.set_content(words)
    raw = mail.as_bytes()
    intake = InboundMessage(
        source=SOURCE,
        source_key=message_id,
        message_id=message_id,
        sha256=hashlib.sha256(raw).hexdigest(),
        body=InboundRaw(raw=raw),
        mail_from=agent.address,
        rcpt_to=[str(mail["To"])],
        received_at=now,
        status=IntakeStatus.DONE,
        attempts=1,
        next_attempt_at=now,
        processed_at=now,
        ticket_id=ticket.id,
        history=False,
    )
    session.add(intake)
    session.flush()
    return intake


def _refused(session: Session, ticket: Ticket) -> list[str]:
    """What the handler found wrong with the commands, from the event it just recorded."""
    event = session.scalar(
        select(Event)
        .where(Event.ticket_id == ticket.id, Event.kind == EventKind.COMMANDS_REJECTED)
        .order_by(Event.id.desc())
        .limit(1)
    )
    return [str(e) for e in event.data.get("errors", [])] if event is not None else []
