"""Find the ticket a message belongs to, in the order of DESIGN.md.

1. a signed token in a recipient address (plus-addressing, also Delivered-To), among them
   the satisfaction survey's, whose answers are ratings;
2. In-Reply-To / References against every Message-ID we stored or sent (ours are signed);
3. the signed reference marker in the body, for relays that rewrite Message-IDs;
4. the subject tag `[PREFIX #id]`;
5. a reply that carries none of these (a webmail or phone client that drops headers, a
   customer who starts a new mail with "Re: <our subject>") joins the sender's own ticket
   with the same subject: one they take part in, open or pending, or resolved or closed
   within `reopen_grace`. A quote ("> " lines) in the reply must repeat a message of that
   ticket (the customer's, an agent's answer, our mail to them) or name its number; an
   unmarked quote (Outlook's) counts when it does; a generic subject ("Help", "Ajuda")
   joins only with such a quote. Among several such tickets, the one the
   quote repeats most, then the one whose message's time the quote's attribution gives,
   then the most recently active;
a bounce also by the marker or a signed reply address in what it returns of our message;
otherwise a new ticket in the queue of the envelope recipient. Markers and tags are only
honoured for a participant of the ticket, or an agent's address: anyone can copy a subject,
so the subject is only compared with the sender's own tickets. Mail from an agent's address
that names a ticket without proving it is the agent's (their own signed reply address, and in
strict mode an aligned DKIM or SPF pass) keeps the ticket and says why it proves nothing
(`MessageContext.unproven`): it becomes an unverified note.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from mailtickets.db.models import Agent, Message, OutboundMessage, Ticket
from mailtickets.mail.addresses import split_plus
from mailtickets.mail.quoted import Quote
from mailtickets.mail.subjects import is_generic, is_reply, subject_key, ticket_in_tag
from mailtickets.mail.tokens import (
    read_reply_token,
    read_survey_token,
    ticket_of_message_id,
    tickets_in_markers,
)
from mailtickets.pipeline.context import MessageContext, ProvenAgent
from mailtickets.services.candidates import joinable_tickets, quotable_texts
from mailtickets.services.tickets import NO_SUBJECT, follow_merges, is_participant

#: How `_by_returned` matched: by a signature of ours, found in the returned copy of our mail.
SIGNED_IN_RETURNED = (
    "reference marker in the returned message",
    "signed reply address in the returned message",
)


def match_ticket(ctx: MessageContext) -> None:
    found = _by_token(ctx) or _by_references(ctx) or _by_returned(ctx)
    found = found or _by_marker_or_tag(ctx) or _by_subject(ctx)
    ctx.ticket, ctx.matched_by = found if found else (None, None)
    if ctx.ticket is not None:
        ctx.ticket = follow_merges(ctx.session, ctx.ticket)
        ticket_queue = ctx.ticket.queue.address
        # A ticket's mail stays in its queue, while that queue is still configured.
        ctx.queue = next(
            (q for q in ctx.config.queues if q.address.lower() == ticket_queue), ctx.queue
        )


def _by_token(ctx: MessageContext) -> tuple[Ticket, str] | None:
    for address in ctx.recipients():
        base, tag = split_plus(address)
        if tag is None or ctx.config.queue_for(base) is None:
            continue
        surveyed = _by_survey_token(ctx, tag)
        if surveyed is not None:
            return surveyed
        token = read_reply_token(ctx.config.secret, tag, ctx.now)
        ticket = _ticket(ctx, token.ticket_id) if token else None
        if token is None or ticket is None:
            continue
        if token.agent_id is None:
            return ticket, "reply address"
        agent = ctx.session.get(Agent, token.agent_id)
        authentication = ctx.authentication()
        vouched = authentication is None or authentication.aligned
        if agent is not None and agent.active and agent.address == ctx.sender_address and vouched:
            settings = ctx.config.agent(agent.address)
            ctx.agent = ProvenAgent(settings, agent, token.seen) if settings is not None else None
            return ticket, "agent reply address"
        own = agent is not None and agent.address == ctx.sender_address
        if ctx.config.agent(ctx.sender_address) is not None:
            # An agent's address that proves nothing: the ticket, for an unverified note.
            ctx.unproven = (
                {"code": "authentication", "detail": authentication.reason}
                if own and authentication is not None
                else {"code": "other_agent", "detail": ""}
            )
            return ticket, "agent reply address, unproven"
        # An ordinary message, never a command; it joins the ticket only as a participant may.
        ctx.ignored_reference = {
            "ignored_token_of_agent": token.agent_id,
            "why": "the sender is not the agent the reply address was made for",
        }
        if is_participant(ctx.session, ticket, ctx.sender_address):
            return ticket, "reply address of another party"
    return None


def _by_survey_token(ctx: MessageContext, tag: str) -> tuple[Ticket, str] | None:
    """A satisfaction answer, counted only from a participant: the address can be passed on."""
    ticket_id = read_survey_token(ctx.config.secret, tag)
    ticket = _ticket(ctx, ticket_id) if ticket_id else None
    if ticket is None:
        return None
    if not is_participant(ctx.session, ticket, ctx.sender_address):
        ctx.ignored_reference = {
            "ignored_survey_of": ticket.id,
            "why": "a satisfaction answer from someone who is not a participant",
        }
        return None
    ctx.survey = True
    return ticket, "satisfaction reply address"


def _by_references(ctx: MessageContext) -> tuple[Ticket, str] | None:
    # A bounce names the message that failed; otherwise the newest reference first.
    bounced = [ctx.bounce.original_message_id] if ctx.bounce else []
    candidates = [*bounced, *ctx.mail.in_reply_to, *reversed(ctx.mail.references)]
    for reference in dict.fromkeys(r for r in candidates if r):
        signed = ticket_of_message_id(ctx.config.secret, reference)
        ticket = _ticket(ctx, signed) if signed else _stored(ctx, reference)
        if ticket is not None:
            return ticket, f"reference to <{reference}>"
    return None


def _stored(ctx: MessageContext, message_id: str) -> Ticket | None:
    """The ticket of a message we stored or sent with `message_id`, read with the message."""
    for table in (Message, OutboundMessage):
        ticket = ctx.session.scalar(
            select(Ticket)
            .join(table, table.ticket_id == Ticket.id)
            .where(table.message_id == message_id)
            .options(joinedload(Ticket.queue))
            .limit(1)
        )
        if ticket is not None:
            return ticket
    return None


def _ticket(ctx: MessageContext, ticket_id: int) -> Ticket | None:
    # With its queue, which the message's mail and routing read next.
    return ctx.session.get(Ticket, ticket_id, options=[joinedload(Ticket.queue)])


def _by_returned(ctx: MessageContext) -> tuple[Ticket, str] | None:
    """A bounce whose Message-ID was lost: our signed marker or reply address in the copy of
    our message it returns. Signed, so no participant check: a bounce comes from no one."""
    if ctx.bounce is None:
        return None
    text = ctx.bounce.returned_text
    for ticket_id in tickets_in_markers(ctx.config.secret, text):
        ticket = _ticket(ctx, ticket_id)
        if ticket is not None:
            return ticket, SIGNED_IN_RETURNED[0]
    for queue in ctx.config.queues:
        local, _, domain = queue.address.lower().partition("@")
        pattern = re.compile(rf"{re.escape(local)}\+([0-9a-z.]{{1,80}})@{re.escape(domain)}", re.I)
        for tag in pattern.findall(text):
            token = read_reply_token(ctx.config.secret, tag, ctx.now)
            ticket = _ticket(ctx, token.ticket_id) if token else None
            if ticket is not None:
                return ticket, SIGNED_IN_RETURNED[1]
    return None


def _by_marker_or_tag(ctx: MessageContext) -> tuple[Ticket, str] | None:
    candidates = [
        *((t, "reference marker") for t in tickets_in_markers(ctx.config.secret, ctx.mail.text)),
    ]
    tagged = ticket_in_tag(ctx.config.subject_prefix, ctx.mail.subject)
    if tagged is not None:
        candidates.append((tagged, "subject tag"))
    for ticket_id, how in candidates:
        ticket = _ticket(ctx, ticket_id)
        if ticket is None:
            continue
        agent_address = ctx.config.agent(ctx.sender_address) is not None
        if agent_address or is_participant(ctx.session, ticket, ctx.sender_address):
            return ticket, how
        ctx.ignored_reference = {
            "ignored_ticket": ticket_id,
            "why": f"{how} of a ticket whose participants do not include the sender",
        }
    return None


def _by_subject(ctx: MessageContext) -> tuple[Ticket, str] | None:
    quote = Quote.of(ctx.mail.text, ctx.new_text)
    # A delivery report names its message by reference or not at all; a mail that neither
    # says it replies nor quotes anything is a new request, whatever its subject.
    if ctx.bounce is not None or not (is_reply(ctx.mail.subject) or quote.marked):
        return None
    key = subject_key(ctx.mail.subject)
    since = ctx.now - ctx.config.reopen_grace
    same = [
        ticket
        for ticket in joinable_tickets(ctx.session, ctx.sender_address, since)
        if subject_key("" if ticket.subject == NO_SUBJECT else ticket.subject) == key
    ]
    if not same:
        return None
    quoted = _quoted(ctx, quote, same)
    if quoted is not None:
        ticket, what = quoted
        return ticket, f"subject and quote of {what}"
    if quote.marked:
        _not_joined(ctx, same[0], "it quotes none of that ticket's messages")
    elif is_generic(ctx.mail.subject):
        _not_joined(ctx, same[0], "the subject is too generic to join without a quote of it")
    else:
        return same[0], "subject of the sender's ticket"
    return None


def _quoted(ctx: MessageContext, quote: Quote, same: list[Ticket]) -> tuple[Ticket, str] | None:
    """The ticket the quote repeats most (between equals, the one whose message's time the
    attribution gives, then the most recently active) and what of it is quoted: a message,
    else the ticket's number; None when it quotes none of them."""
    if not quote.text:
        return None
    best: dict[int, tuple[tuple[int, bool], str]] = {}
    for quotable in quotable_texts(ctx.session, [t.id for t in same]):
        strength = quote.repeats(quotable.text)
        found = (strength, quote.dates(quotable.date))
        if strength and found > best.get(quotable.ticket_id, ((0, False), ""))[0]:
            best[quotable.ticket_id] = (found, f"<{quotable.message_id}>")
    quoted = [(best[t.id][0], t, best[t.id][1]) for t in same if t.id in best]
    if quoted:
        # max() keeps the first of equals: `same` is ordered by recent activity.
        _, ticket, what = max(quoted, key=lambda found: found[0])
        return ticket, what
    named = next((t for t in same if quote.names_ticket(t.id)), None)
    return (named, f"its number #{named.id}") if named is not None else None


def _not_joined(ctx: MessageContext, ticket: Ticket, why: str) -> None:
    """Tell agents, on the ticket the message opens, which ticket of the sender's it may
    continue and why it did not join it."""
    if ctx.ignored_reference is None:
        ctx.ignored_reference = {
            "ignored_ticket": ticket.id,
            "why": f"same subject as the sender's ticket, but {why}",
        }
