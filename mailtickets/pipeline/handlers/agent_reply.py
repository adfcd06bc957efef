"""An agent's reply on their signed address: commands first, then the answer or a note.

Every command is checked before any is applied, so a mail with one bad command changes
nothing and earns the agent an error mail listing what was wrong. Otherwise all commands
apply in one transaction; the remaining text goes to the customer and the other
participants (or, with `#note`, stays internal); a mail of commands only sends nothing.
An agent's reply imported as history changes the ticket the same way and mails nobody: its
answer reached the customer when it was written.
"""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateError, TemplateNotFound
from sqlalchemy import select

from mailtickets.db.models import (
    Agent,
    EventKind,
    Message,
    MessageKind,
    Priority,
    Ticket,
    TicketStatus,
)
from mailtickets.mail.commands import HELP, Command, final_status, parse_commands
from mailtickets.outbox.context import ticket_context
from mailtickets.outbox.enqueue import enqueue
from mailtickets.outbox.notices import notify_agents, reply_address
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext, ProvenAgent
from mailtickets.pipeline.store import store_message
from mailtickets.services import satisfaction, tickets

#: Commands this step applies; #customer belongs to mail that opens a ticket.
_HERE = {
    "status",
    "assign",
    "priority",
    "note",
    "cc",
    "uncc",
    "tag",
    "close",
    "resolve",
    "merge",
    "macro",
}


def record_agent_reply(ctx: MessageContext, ticket: Ticket, proven: ProvenAgent) -> None:
    """Apply the agent's commands, then relay their text or keep it as a note."""
    agent = proven.row
    ctx.intake.ticket_id = ticket.id
    parsed = parse_commands(ctx.new_text)
    errors = [f"{e.line}: {e.reason}" for e in parsed.errors]
    errors += _check(ctx, ticket, parsed.commands)
    if errors:
        _reject(ctx, ticket, agent, errors)
        return
    macro_text = [_macro(ctx, ticket, c.argument) for c in parsed.commands if c.name == "macro"]
    text = "\n\n".join(t for t in [parsed.text, *macro_text] if t)
    ctx.new_text = text
    is_note = any(c.name == "note" for c in parsed.commands)
    # Commands are about `ticket`, even once it is merged away; the conversation goes on in
    # the ticket it was merged into.
    conversation = ticket
    for command in parsed.commands:
        conversation = _apply(ctx, ticket, agent, command) or conversation
    ctx.ticket = conversation
    if is_note:
        store_message(ctx, conversation, MessageKind.NOTE, author_agent_id=agent.id)
        _tell_other_agents(ctx, conversation, agent, text)
        ctx.outcome = Outcome.NOTE
    elif text:
        store_message(ctx, conversation, MessageKind.AGENT, author_agent_id=agent.id)
        _relay(ctx, conversation, proven, text)
        ctx.outcome = Outcome.AGENT_REPLY
    else:
        ctx.outcome = Outcome.COMMANDS
    _finish_status(ctx, ticket, agent, parsed.commands, answered=bool(text) and not is_note)


def _check(ctx: MessageContext, ticket: Ticket, commands: tuple[Command, ...]) -> list[str]:
    """What would go wrong applying `commands`; checked before anything changes."""
    problems = []
    for command in commands:
        if command.name not in _HERE:
            problems.append(f"{command.line}: only works when opening a ticket")
        elif command.name == "assign" and command.argument != "me":
            target = ctx.session.scalar(select(Agent).where(Agent.address == command.argument))
            if target is None or not target.active:
                problems.append(f"{command.line}: {command.argument} is not an agent")
        elif command.name == "merge":
            into = ctx.session.get(Ticket, int(command.argument))
            # Into where that ticket now lives; a chain back to this one would be a cycle.
            into = tickets.follow_merges(ctx.session, into) if into is not None else None
            if into is None:
                problems.append(f"{command.line}: there is no ticket #{command.argument}")
            elif into.id == ticket.id:
                problems.append(f"{command.line}: a ticket cannot be merged into itself")
        elif command.name == "macro" and _macro(ctx, ticket, command.argument) is None:
            problems.append(f"{command.line}: there is no macro named {command.argument}")
        elif command.name == "uncc" and command.argument == ticket.contact.address:
            problems.append(f"{command.line}: the customer who opened the ticket stays on it")
    return problems


def _apply(ctx: MessageContext, ticket: Ticket, agent: Agent, command: Command) -> Ticket | None:
    """Apply one checked command; return the ticket a merge moved the conversation to."""
    actor, now, session, sla = agent.address, ctx.now, ctx.session, ctx.config.sla
    if command.name == "assign":
        target = (
            agent
            if command.argument == "me"
            else session.scalar(select(Agent).where(Agent.address == command.argument))
        )
        tickets.assign(session, ticket, target, now, actor)
    elif command.name == "priority":
        tickets.set_priority(session, ticket, Priority(command.argument), now, actor, sla=sla)
    elif command.name == "cc":
        contact = tickets.contact_for(session, command.argument, None, now)
        tickets.add_participant(session, ticket, contact, "cc", now)
    elif command.name == "uncc":
        tickets.remove_participant(session, ticket, command.argument, now, actor)
    elif command.name == "tag":
        tickets.add_tag(session, ticket, command.argument, now, actor)
    elif command.name == "merge":
        into = tickets.follow_merges(session, tickets.find(session, int(command.argument)))
        tickets.merge(session, ticket, into, now, actor, sla=sla)
        return into
    return None


def _finish_status(
    ctx: MessageContext,
    ticket: Ticket,
    agent: Agent,
    commands: tuple[Command, ...],
    *,
    answered: bool,
) -> None:
    """An answer waits on the customer unless the agent said otherwise."""
    sla = ctx.config.sla
    status = final_status(commands)
    if status is not None and ticket.merged_into_id is None:
        was_resolved = ticket.status is TicketStatus.RESOLVED
        tickets.set_status(
            ctx.session, ticket, TicketStatus(status), ctx.now, agent.address, sla=sla
        )
        if status == TicketStatus.RESOLVED and not was_resolved:
            if not answered:
                context = ticket_context(ctx.session, ticket, ctx.config.subject_prefix)
                _tell_customer(ctx, ticket, "customer/resolved", context)
            _ask_for_rating(ctx, ticket)
    elif answered and ticket.status is TicketStatus.OPEN:
        tickets.set_status(
            ctx.session, ticket, TicketStatus.PENDING, ctx.now, agent.address, sla=sla
        )


def _ask_for_rating(ctx: MessageContext, ticket: Ticket) -> None:
    queue = ctx.config.queue_for(ticket.queue.address)
    if queue is not None and queue.csat and not ctx.history:
        satisfaction.request(
            ctx.session,
            ticket,
            secret=ctx.config.secret,
            prefix=ctx.config.subject_prefix,
            now=ctx.now,
        )


def _macro(ctx: MessageContext, ticket: Ticket, name: str) -> str | None:
    env = ctx.config.templates
    context = ticket_context(ctx.session, ticket, ctx.config.subject_prefix)
    for locale in dict.fromkeys((ticket.queue.locale, "en")):
        try:
            return env.get_template(f"{locale}/macros/{name}.txt.j2").render(context).strip()
        except TemplateNotFound:
            continue
        except TemplateError:
            return None
    return None


def _conversation_ids(ctx: MessageContext, ticket: Ticket) -> list[str]:
    found = ctx.session.scalars(
        select(Message.message_id).where(Message.ticket_id == ticket.id).order_by(Message.id)
    )
    return list(found)


def _relay(ctx: MessageContext, ticket: Ticket, proven: ProvenAgent, text: str) -> None:
    """The agent's answer to the customer and every other participant, threaded."""
    author = {"name": proven.row.name, "signature": proven.settings.signature}
    context = ticket_context(
        ctx.session,
        ticket,
        ctx.config.subject_prefix,
        author=proven.row.name,
        new_text=text,
        agent=author,
    )
    _tell_customer(ctx, ticket, "customer/agent_reply", context)


def _tell_customer(
    ctx: MessageContext, ticket: Ticket, template: str, context: dict[str, Any]
) -> None:
    """Mail `template` to the ticket's participants, continuing their conversation."""
    if ctx.history:
        return
    recipients = [p.contact.address for p in ticket.participants]
    recipients = [r for r in recipients if r not in ctx.config.own_addresses]
    customer_ids = ctx.session.scalars(
        select(Message.message_id)
        .where(
            Message.ticket_id == ticket.id,
            Message.direction == "in",
            Message.kind == MessageKind.CUSTOMER,
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
    variables = context | {"reply_to": reply_address(ctx.config.secret, ticket, None, ctx.now)}
    enqueue(
        ctx.session,
        template=template,
        locale=ticket.contact.locale or ticket.queue.locale,
        recipients=recipients,
        ticket=ticket,
        context=variables,
        now=ctx.now,
        secret=ctx.config.secret,
        in_reply_to=next(iter(customer_ids), None),
        references=_conversation_ids(ctx, ticket),
    )


def _tell_other_agents(ctx: MessageContext, ticket: Ticket, author: Agent, text: str) -> None:
    if ctx.history:
        return
    note = {"author": f"{author.name} <{author.address}>", "text": text}
    notify_agents(
        ctx.session,
        ticket,
        "agent/note_added",
        ticket_context(ctx.session, ticket, ctx.config.subject_prefix, note=note),
        queues=ctx.config.queues,
        agents=ctx.config.agents,
        secret=ctx.config.secret,
        now=ctx.now,
        exclude=author.address,
    )


def _reject(ctx: MessageContext, ticket: Ticket, agent: Agent, errors: list[str]) -> None:
    tickets.record(
        ctx.session, ticket, EventKind.COMMANDS_REJECTED, ctx.now, agent.address, errors=errors
    )
    ctx.outcome = Outcome.COMMAND_ERROR
    if ctx.history:
        return
    context = ticket_context(
        ctx.session,
        ticket,
        ctx.config.subject_prefix,
        errors=errors,
        commands=list(HELP),
        agent={"name": agent.name, "signature": ""},
        reply_to=reply_address(ctx.config.secret, ticket, agent.id, ctx.now),
    )
    enqueue(
        ctx.session,
        template="agent/command_error",
        locale=ticket.queue.locale,
        recipients=[agent.address],
        ticket=ticket,
        context=context,
        now=ctx.now,
        secret=ctx.config.secret,
        in_reply_to=ctx.message_id,
    )
