"""Mail from an agent's address that does not prove it is theirs: it did not come on their own
signed reply address, or strict mode found no DKIM or SPF pass aligned with their domain.

A From header proves nothing, so this mail never runs a command, never reaches a customer
and is never acknowledged as a customer's. What becomes of it:

1. The agent's own mail to a customer, with the queue in Cc or Bcc: the customer already
   has it, so it is recorded as the agent's message (the first response, if it is one) on
   that customer's ticket (the one it names, else their open one in the queue, else a new
   one opened by the agent) and never sent again. Recording sends nothing, so the From
   header is enough unless strict mode asks for an aligned pass; without one it is an
   unverified note, or, with no ticket to hold it, the agent is told.
2. Mail naming a ticket (any reply address, references, marker, tag): an unverified
   internal note on it; the agent gets one mail, on their own reply address for that
   ticket, saying why and how to act on it.
3. `#customer ADDRESS`: a forwarded customer mail opens that customer's ticket (recording
   only, as for 1.); the agent's own text is mailed to the customer at once, threaded for
   their reply, only with an aligned pass in strict mode: sending what a From header asks
   would let anyone mail anyone from the queue. Otherwise the agent is told how instead.
4. Anything else: nothing is recorded, and the agent is told why.
"""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy import select

from mailtickets.db.models import (
    Agent,
    Contact,
    EventKind,
    MessageKind,
    Queue,
    Ticket,
    TicketStatus,
)
from mailtickets.errors import Stop
from mailtickets.mail.addresses import normalise
from mailtickets.mail.authresults import Authentication
from mailtickets.mail.commands import HELP, parse_commands
from mailtickets.mail.subjects import is_forward
from mailtickets.outbox.context import ticket_context
from mailtickets.outbox.enqueue import enqueue
from mailtickets.outbox.history import conversation
from mailtickets.outbox.notices import reply_address
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext
from mailtickets.pipeline.store import open_ticket, store_message
from mailtickets.services import tickets

#: A ticket an agent's mail to its customer continues: one still in conversation.
_IN_CONVERSATION = (TicketStatus.OPEN, TicketStatus.PENDING)


def record_agent_mail(ctx: MessageContext) -> None:
    """Record mail from an agent's address that proves nothing, as far as it may be."""
    authentication = ctx.authentication()
    customer = _addressed_customer(ctx)
    if customer is not None:
        _copied_to_queue(ctx, customer, authentication)
    elif ctx.ticket is not None:
        _unverified_note(ctx, ctx.ticket, ctx.unproven or {"code": "address", "detail": ""})
    else:
        wanted = [c.argument for c in parse_commands(ctx.new_text).commands if c.name == "customer"]
        if wanted:
            _open_for_customer(ctx, wanted[-1], authentication)
        else:
            _not_recorded(ctx, {"code": "nothing_named", "detail": ""})


def _trusted(authentication: Authentication | None) -> bool:
    """Whether a From header may be taken at its word: strict mode off, or an aligned pass."""
    return authentication is None or authentication.aligned


def _failed(authentication: Authentication | None) -> dict[str, str]:
    return {"code": "authentication", "detail": authentication.reason if authentication else ""}


def _outside(ctx: MessageContext) -> list[str]:
    """The addresses the mail was written to (To, then Cc) that are neither ours nor agents'."""
    agents = {normalise(a.address) for a in ctx.config.agents}
    written = dict.fromkeys((*ctx.mail.to, *ctx.mail.cc))
    return [a for a in written if a not in agents and ctx.config.queue_for(a) is None]


def _addressed_customer(ctx: MessageContext) -> str | None:
    return next(iter(_outside(ctx)), None)


def _copied_to_queue(
    ctx: MessageContext, customer: str, authentication: Authentication | None
) -> None:
    ticket = _customers_ticket(ctx, customer)
    if not _trusted(authentication):
        if ticket is None:
            _not_recorded(ctx, _failed(authentication))
        _unverified_note(ctx, ticket, _failed(authentication))
        return
    session, now = ctx.session, ctx.now
    author = session.scalars(select(Agent).where(Agent.address == ctx.sender_address)).one()
    if ticket is None:
        contact = tickets.contact_for(session, customer, None, now)
        named = ctx.ticket
        # A new ticket continues the one the mail names, when that one is the customer's.
        earlier = named if named and tickets.is_participant(session, named, customer) else None
        ticket = open_ticket(ctx, contact, linked_to=earlier)
        _opened_by_agent(ctx, ticket, customer, how="copied to the queue")
    else:
        ctx.ticket, ctx.outcome = ticket, Outcome.AGENT_REPLY
    store_message(ctx, ticket, MessageKind.AGENT, author_agent_id=author.id)
    _add_recipients(ctx, ticket)
    if ticket.status is TicketStatus.OPEN:
        # The agent has answered: the ticket waits on the customer, as after any answer.
        tickets.set_status(
            session, ticket, TicketStatus.PENDING, now, ctx.sender_address, sla=ctx.config.sla
        )


def _customers_ticket(ctx: MessageContext, customer: str) -> Ticket | None:
    """The ticket the mail names when the customer is on it, else the customer's newest
    ticket still in conversation in the queue."""
    named = ctx.ticket
    if (
        named is not None
        and named.status in _IN_CONVERSATION
        and tickets.is_participant(ctx.session, named, customer)
    ):
        return named
    return ctx.session.scalar(
        select(Ticket)
        .join(Contact, Ticket.contact_id == Contact.id)
        .join(Queue, Ticket.queue_id == Queue.id)
        .where(
            Contact.address == customer,
            Queue.address == normalise(ctx.queue.address),
            Ticket.status.in_(_IN_CONVERSATION),
            Ticket.merged_into_id.is_(None),
        )
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        .limit(1)
    )


def _add_recipients(ctx: MessageContext, ticket: Ticket) -> None:
    """Everyone outside whom the agent wrote to has the mail: they are on the ticket now."""
    for address in _outside(ctx):
        contact = tickets.contact_for(ctx.session, address, None, ctx.now)
        tickets.add_participant(ctx.session, ticket, contact, "cc", ctx.now)


def _opened_by_agent(ctx: MessageContext, ticket: Ticket, customer: str, *, how: str) -> None:
    ctx.on_behalf_by = ctx.sender_address
    tickets.record(
        ctx.session,
        ticket,
        EventKind.OPENED_ON_BEHALF,
        ctx.now,
        ctx.sender_address,
        customer=customer,
        how=how,
    )


def _open_for_customer(
    ctx: MessageContext, customer: str, authentication: Authentication | None
) -> None:
    """`#customer ADDRESS`: the customer's forwarded request, or the agent's own first words
    to them, which go out at once when the mail proves it is the agent's."""
    text = parse_commands(ctx.new_text).text
    forwarded = is_forward(ctx.mail.subject) or not text
    proven = authentication is not None and authentication.aligned
    if forwarded and not _trusted(authentication):
        _not_recorded(ctx, _failed(authentication))
    if not forwarded and not proven:
        _not_recorded(ctx, _failed(authentication) if authentication else _unproven())
    session, now = ctx.session, ctx.now
    author = session.scalars(select(Agent).where(Agent.address == ctx.sender_address)).one()
    contact = tickets.contact_for(session, customer, None, now)
    ctx.new_text = text
    ticket = open_ticket(ctx, contact)
    if forwarded:
        _opened_by_agent(ctx, ticket, customer, how="forwarded")
        # The customer's own words, which the agent passed on.
        store_message(ctx, ticket, MessageKind.CUSTOMER, author_agent_id=author.id)
        return
    _opened_by_agent(ctx, ticket, customer, how="written by the agent")
    store_message(ctx, ticket, MessageKind.AGENT, author_agent_id=author.id)
    _write_to_customer(ctx, ticket, author, text)
    tickets.set_status(
        session, ticket, TicketStatus.PENDING, now, author.address, sla=ctx.config.sla
    )


def _unproven() -> dict[str, str]:
    return {"code": "unproven", "detail": ""}


def _write_to_customer(ctx: MessageContext, ticket: Ticket, author: Agent, text: str) -> None:
    """The agent's first words to the customer, from the queue, on the ticket's reply address
    so that the customer's answer joins it."""
    settings = ctx.config.agent(author.address)
    signature = settings.signature if settings is not None else ""
    context = ticket_context(
        ctx.session,
        ticket,
        ctx.config.subject_prefix,
        author=author.name,
        new_text=text,
        agent={"name": author.name, "signature": signature},
        reply_to=reply_address(ctx.config.secret, ticket, None, ctx.now),
    )
    enqueue(
        ctx.session,
        template="customer/agent_reply",
        locale=ticket.contact.locale or ticket.queue.locale,
        recipients=[ticket.contact.address],
        ticket=ticket,
        context=context,
        now=ctx.now,
        secret=ctx.config.secret,
    )


def _unverified_note(ctx: MessageContext, ticket: Ticket, why: dict[str, str]) -> None:
    """Keep the mail on `ticket` for the agents, marked unverified, and tell the agent."""
    store_message(ctx, ticket, MessageKind.UNVERIFIED)
    tickets.record(
        ctx.session,
        ticket,
        EventKind.AGENT_UNVERIFIED,
        ctx.now,
        ctx.sender_address,
        why=why["code"],
        detail=why["detail"],
        matched_by=ctx.matched_by,
    )
    ctx.ticket, ctx.outcome = ticket, Outcome.UNVERIFIED
    agent = ctx.session.scalars(select(Agent).where(Agent.address == ctx.sender_address)).one()
    context = ticket_context(
        ctx.session,
        ticket,
        ctx.config.subject_prefix,
        agent={"name": agent.name, "signature": ""},
        why=why,
        mail={"subject": ctx.mail.subject},
        reply_to=reply_address(ctx.config.secret, ticket, agent.id, ctx.now),
        history=conversation(ctx.session, ticket),
    )
    enqueue(
        ctx.session,
        template="agent/unverified",
        locale=ticket.queue.locale,
        recipients=[agent.address],
        ticket=ticket,
        context=context,
        now=ctx.now,
        secret=ctx.config.secret,
        in_reply_to=ctx.message_id,
    )


def _not_recorded(ctx: MessageContext, why: dict[str, str]) -> NoReturn:
    """Record nothing; tell the agent why, and what works instead."""
    queue = ctx.queue
    settings = ctx.config.agent(ctx.sender_address)
    context = {
        "queue": {"name": queue.name, "address": queue.address},
        "agent": {"name": settings.name if settings else "", "signature": ""},
        "why": why,
        "mail": {"subject": ctx.mail.subject},
        "commands": list(HELP),
    }
    enqueue(
        ctx.session,
        template="agent/not_recorded",
        locale=queue.locale,
        recipients=[ctx.sender_address],
        ticket=None,
        context=context,
        now=ctx.now,
        secret=ctx.config.secret,
        domain=queue.address.rpartition("@")[2],
        in_reply_to=ctx.message_id,
    )
    raise Stop(Outcome.NOT_RECORDED, f"mail from agent {ctx.sender_address}: {why['code']}")
