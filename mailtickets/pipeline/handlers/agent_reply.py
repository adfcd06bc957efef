"""An agent's reply on their signed address: commands first, then the answer or a note.

Every command is checked before any is applied, so a mail with one bad command changes
nothing and earns the agent an error mail listing what was wrong. Otherwise all commands
apply in one transaction; the remaining text goes to the customer and the other
participants (`answer`), or, with `#note`, stays internal with its files; a mail of commands
only sends the customer nothing (`#files` answers the agent, `#assign` tells the new assignee,
`#history` mails the agent the whole ticket, `#away` and `#back` confirm the agent's
availability, `#follow` and `#unfollow` change who follows the ticket; an answer goes to
its followers too). A reply holding nothing but our own quoted notice sends nothing and
tells the agent so. An answer written before someone else's reached the customer is held
instead of sent (`collision`); `#send` or `#discard` decides.
An agent's reply imported as history changes the ticket the same way and mails nobody: its
answer reached the customer when it was written.
"""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateError, TemplateNotFound
from sqlalchemy import select

from mailtickets.db.models import Agent, EventKind, MessageKind, Priority, Ticket, TicketStatus
from mailtickets.mail.commands import HELP, Command, final_status, parse_commands
from mailtickets.outbox.attachments import choose, of_message, ticket_files
from mailtickets.outbox.context import ticket_context
from mailtickets.outbox.enqueue import enqueue
from mailtickets.outbox.history import whole_ticket
from mailtickets.outbox.notices import notify_agents, reply_address
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext, ProvenAgent
from mailtickets.pipeline.handlers import collision, participants
from mailtickets.pipeline.handlers.absence import (
    ABSENCE_COMMANDS,
    absence_problem,
    apply_absence,
)
from mailtickets.pipeline.handlers.answer import relay, tell_customer
from mailtickets.pipeline.handlers.files import check_files, send_files
from mailtickets.pipeline.store import store_message
from mailtickets.services import absence, followers, satisfaction, tickets

#: Commands this step applies; #customer belongs to mail that opens a ticket.
_HERE = {
    "status",
    "assign",
    "priority",
    "note",
    "cc",
    "cc_keep",
    "uncc",
    "tag",
    "close",
    "resolve",
    "merge",
    "macro",
    "files",
    "history",
    "follow",
    "unfollow",
    "away",
    "back",
    "send",
    "discard",
}


def record_agent_reply(ctx: MessageContext, ticket: Ticket, proven: ProvenAgent) -> None:
    """Apply the agent's commands, then relay their text or keep it as a note."""
    agent = proven.row
    ctx.intake.ticket_id = ticket.id
    absence.acted(agent)
    if ctx.only_our_words:
        _tell_agent(ctx, ticket, agent, "agent/nothing_new")
        tickets.record(ctx.session, ticket, EventKind.NOTHING_NEW, ctx.now, agent.address)
        ctx.outcome = Outcome.NOTHING_NEW
        return
    parsed = parse_commands(ctx.new_text)
    errors = [f"{e.line}: {e.reason}" for e in parsed.errors]
    errors += _check(ctx, ticket, parsed.commands)
    errors += collision.check_decision(ctx, ticket, agent, parsed.commands)
    if errors:
        _reject(ctx, ticket, agent, errors)
        return
    named = [c.argument for c in parsed.commands if c.name == "macro"]
    macros = [found for name in named if (found := _macro(ctx, ticket, name))]
    text = "\n\n".join(t for t in [parsed.text, *macros] if t)
    ctx.new_text = text
    is_note = any(c.name == "note" for c in parsed.commands)
    resolving = final_status(parsed.commands) == TicketStatus.RESOLVED
    resolving = resolving and ticket.status is not TicketStatus.RESOLVED
    # Commands are about `ticket`, even once it is merged away; the conversation goes on in
    # the ticket it was merged into.
    conversation = ticket
    sending = any(c.name == "send" for c in parsed.commands)
    # Read before `#send` releases the held answer below.
    carried = collision.carried_status(ctx, ticket, agent) if sending else None
    for command in parsed.commands:
        conversation = _apply(ctx, ticket, agent, command) or conversation
    ctx.ticket = conversation
    if is_note:
        store_message(ctx, conversation, MessageKind.NOTE, author_agent_id=agent.id)
        _tell_other_agents(ctx, conversation, agent, text)
        ctx.outcome = Outcome.NOTE
    elif text and (newer := collision.newer_answers(ctx, conversation, proven)):
        store_message(ctx, conversation, MessageKind.HELD, author_agent_id=agent.id)
        mail = relay(ctx, conversation, proven, text, macros, resolved=resolving)
        assert mail is not None, "imported history is never held"
        collision.hold(ctx, conversation, agent, mail, newer, final_status(parsed.commands))
        ctx.outcome = Outcome.REPLY_HELD
        # Its status change waits with it (`collision.carried_status`).
        return
    elif text:
        store_message(ctx, conversation, MessageKind.AGENT, author_agent_id=agent.id)
        relay(ctx, conversation, proven, text, macros, resolved=resolving)
        # The "answered" notice reaches the followers too; only without one do they need
        # the answer on its own.
        if not collision.tell_answered(ctx, conversation, agent, text):
            _tell_followers(ctx, conversation, agent, text)
        ctx.outcome = Outcome.AGENT_REPLY
    else:
        ctx.outcome = Outcome.COMMANDS
    answered = ctx.outcome is Outcome.AGENT_REPLY or sending
    status = final_status(parsed.commands) or carried
    _finish_status(ctx, ticket, agent, status, answered=answered)


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
        elif command.name == "cc" and not participants.room_for(ctx, ticket, command.argument):
            limit = ctx.config.max_participants
            problems.append(
                f"{command.line}: the ticket has {limit} participants (max_participants)"
            )
        elif command.name == "uncc" and command.argument == ticket.contact.address:
            problems.append(f"{command.line}: the customer who opened the ticket stays on it")
        elif command.name == "files":
            problems += check_files(ctx, ticket, command)
        elif command.name in ("follow", "unfollow") and command.argument:
            problems += _check_follower(ctx, command)
        elif command.name == "away" and (problem := absence_problem(command, ctx)):
            problems.append(problem)
    return problems


def _check_follower(ctx: MessageContext, command: Command) -> list[str]:
    """Only a manager makes another agent follow a ticket, or stop."""
    writer = ctx.config.agent(ctx.sender_address)
    if writer is None or writer.role != "manager":
        return [f"{command.line}: only a manager can make another agent follow a ticket"]
    target = ctx.session.scalar(select(Agent).where(Agent.address == command.argument))
    if target is None or not target.active:
        return [f"{command.line}: {command.argument} is not an agent"]
    return []


def _apply(ctx: MessageContext, ticket: Ticket, agent: Agent, command: Command) -> Ticket | None:
    """Apply one checked command; return the ticket a merge moved the conversation to."""
    actor, now, session, sla = agent.address, ctx.now, ctx.session, ctx.config.sla
    if command.name == "assign":
        target = (
            agent
            if command.argument == "me"
            else session.scalar(select(Agent).where(Agent.address == command.argument))
        )
        before = ticket.assignee
        tickets.assign(session, ticket, target, now, actor)
        if ticket.assignee is not before:
            _tell_assignee(ctx, ticket, agent)
    elif command.name == "files":
        send_files(ctx, tickets.follow_merges(session, ticket), agent, command.argument)
    elif command.name == "history":
        conversation = tickets.follow_merges(session, ticket)
        _tell_agent(
            ctx, conversation, agent, "agent/history", record=whole_ticket(session, conversation)
        )
    elif command.name in ("send", "discard"):
        collision.decide(ctx, ticket, agent, command)
    elif command.name == "priority":
        tickets.set_priority(session, ticket, Priority(command.argument), now, actor, sla=sla)
    elif command.name == "cc":
        participants.agent_adds(ctx, ticket, command.argument, actor)
    elif command.name == "cc_keep":
        participants.keep_pending(ctx, ticket, actor)
    elif command.name == "uncc":
        tickets.remove_participant(session, ticket, command.argument, now, actor)
    elif command.name == "tag":
        tickets.add_tag(session, ticket, command.argument, now, actor)
    elif command.name == "merge":
        into = tickets.follow_merges(session, tickets.find(session, int(command.argument)))
        tickets.merge(session, ticket, into, now, actor, sla=sla)
        return into
    elif command.name in ("follow", "unfollow"):
        follower = (
            session.scalars(select(Agent).where(Agent.address == command.argument)).one()
            if command.argument
            else agent
        )
        change = followers.follow if command.name == "follow" else followers.unfollow
        change(session, tickets.follow_merges(session, ticket), follower, now, actor)
    elif command.name in ABSENCE_COMMANDS:
        apply_absence(ctx, agent, command)
    return None


def _finish_status(
    ctx: MessageContext,
    ticket: Ticket,
    agent: Agent,
    status: str | None,
    *,
    answered: bool,
) -> None:
    """An answer waits on the customer unless the agent set `status`."""
    sla = ctx.config.sla
    if status is not None and ticket.merged_into_id is None:
        was_resolved = ticket.status is TicketStatus.RESOLVED
        tickets.set_status(
            ctx.session, ticket, TicketStatus(status), ctx.now, agent.address, sla=sla
        )
        if status == TicketStatus.RESOLVED and not was_resolved:
            if not answered:
                context = ticket_context(ctx.session, ticket, ctx.config.subject_prefix)
                tell_customer(ctx, ticket, "customer/resolved", context)
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


def _tell_other_agents(ctx: MessageContext, ticket: Ticket, author: Agent, text: str) -> None:
    """The note, with its files, to the agents who hear of the ticket; never the customer."""
    if ctx.history:
        return  # imported history mails nobody
    note = {"author": f"{author.name} <{author.address}>", "text": text}
    candidates = of_message(ctx.session, ticket, ctx.attachments)
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
        files=choose(ctx.session, candidates, ctx.config.max_attachments_size),
        shows=ctx.message_id,
    )


def _tell_followers(ctx: MessageContext, ticket: Ticket, author: Agent, text: str) -> None:
    """An agent's answer, as the customer got it, to the ticket's other followers."""
    if ctx.history:
        return  # imported history mails nobody
    answered = {"author": f"{author.name} <{author.address}>", "text": text}
    notify_agents(
        ctx.session,
        ticket,
        # The mail the other agents get of a first answer ("Answered: …"), not the one of a
        # customer's reply.
        "agent/answered",
        ticket_context(ctx.session, ticket, ctx.config.subject_prefix, answered=answered),
        queues=ctx.config.queues,
        agents=ctx.config.agents,
        secret=ctx.config.secret,
        now=ctx.now,
        exclude=author.address,
        shows=ctx.message_id,
        followers_only=True,
    )


def _tell_assignee(ctx: MessageContext, ticket: Ticket, by: Agent) -> None:
    """The agent given the ticket by another hears of it, with the conversation so far and the
    ticket's files."""
    if ctx.history:
        return  # imported history mails nobody
    files = choose(ctx.session, ticket_files(ctx.session, ticket), ctx.config.max_attachments_size)
    notify_agents(
        ctx.session,
        ticket,
        "agent/assigned",
        ticket_context(
            ctx.session, ticket, ctx.config.subject_prefix, assigned_by=f"{by.name} <{by.address}>"
        ),
        queues=ctx.config.queues,
        agents=ctx.config.agents,
        secret=ctx.config.secret,
        now=ctx.now,
        exclude=by.address,
        files=files,
        with_history=True,
    )


def _reject(ctx: MessageContext, ticket: Ticket, agent: Agent, errors: list[str]) -> None:
    tickets.record(
        ctx.session, ticket, EventKind.COMMANDS_REJECTED, ctx.now, agent.address, errors=errors
    )
    _tell_agent(ctx, ticket, agent, "agent/command_error", errors=errors, commands=list(HELP))
    ctx.outcome = Outcome.COMMAND_ERROR


def _tell_agent(
    ctx: MessageContext, ticket: Ticket, agent: Agent, template: str, **extra: Any
) -> None:
    """`template` to the agent who wrote, answering their mail, on their own reply address."""
    if ctx.history:
        return  # imported history mails nobody
    context = ticket_context(
        ctx.session,
        ticket,
        ctx.config.subject_prefix,
        agent={"name": agent.name, "signature": ""},
        reply_to=reply_address(ctx.config.secret, ticket, agent.id, ctx.now),
        **extra,
    )
    enqueue(
        ctx.session,
        template=template,
        locale=ticket.queue.locale,
        recipients=[agent.address],
        ticket=ticket,
        context=context,
        now=ctx.now,
        secret=ctx.config.secret,
        in_reply_to=ctx.message_id,
    )
