"""No double answers: an agent's answer written before someone else's reached the customer
is held, and the other agents hear once that the ticket was answered.

What an agent saw is the newest answer their reply address names (`ProvenAgent.seen`); a
reply address without one (given before this check existed) holds nothing. Notes and mail
of commands alone are never held: they send the customer nothing. A held answer's status
change waits with it (resolving now would tell the customer their request is resolved while
the answer is not sent): `#send` resolves the ticket with an answer that says so, and any
other status is set by saying it again with `#send`. `#send` and `#discard` act on the
agent's latest held answer on the ticket; on one already decided, or none, the agent is
told so and nothing changes.
"""

from __future__ import annotations

from sqlalchemy import func, select

from mailtickets.db.models import Agent, HeldState, Message, MessageKind, OutboundMessage, Ticket
from mailtickets.mail.commands import Command
from mailtickets.outbox.context import ticket_context
from mailtickets.outbox.enqueue import enqueue
from mailtickets.outbox.history import when
from mailtickets.outbox.notices import notify_agents, reply_address
from mailtickets.pipeline.context import MessageContext, ProvenAgent
from mailtickets.services import held


def newer_answers(ctx: MessageContext, ticket: Ticket, proven: ProvenAgent) -> list[Message]:
    """Answers by others the agent had not seen when they wrote; empty when nothing holds."""
    if ctx.history or proven.seen is None:
        return []
    return held.newer_answers(ctx.session, ticket, proven.row, proven.seen)


def hold(
    ctx: MessageContext,
    ticket: Ticket,
    agent: Agent,
    mail: OutboundMessage,
    newer: list[Message],
    status: str | None = None,
) -> None:
    """Keep the answer `mail` back and send its agent the newer answers, and how to decide;
    `status`: the status the agent's mail set, which waits with the answer."""
    message = ctx.session.scalars(select(Message).where(Message.message_id == ctx.message_id)).one()
    expires_at = ctx.now + ctx.config.held_reply_expiry
    row = held.hold(ctx.session, ticket, agent, message, mail, now=ctx.now, expires_at=expires_at)
    context = ticket_context(
        ctx.session,
        ticket,
        ctx.config.subject_prefix,
        agent={"name": agent.name, "signature": ""},
        reply_to=reply_address(ctx.config.secret, ticket, agent.id, ctx.now),
        held=held.view(row),
        newer=[_answer(m) for m in newer],
        status=status,
    )
    enqueue(
        ctx.session,
        template="agent/reply_held",
        locale=ticket.queue.locale,
        recipients=[agent.address],
        ticket=ticket,
        context=context,
        now=ctx.now,
        secret=ctx.config.secret,
        in_reply_to=ctx.message_id,
    )


def check_decision(
    ctx: MessageContext, ticket: Ticket, agent: Agent, commands: tuple[Command, ...]
) -> list[str]:
    """Why `#send` or `#discard` in `commands` cannot be applied, if it cannot."""
    decisions = [c for c in commands if c.name in ("send", "discard")]
    if not decisions:
        return []
    if len(decisions) > 1:
        return [f"{decisions[1].line}: one #send or #discard per mail"]
    (command,) = decisions
    latest = held.latest(ctx.session, ticket, agent)
    if latest is None:
        return [f"{command.line}: you have no answer held on this ticket"]
    if latest.state is not HeldState.HELD:
        decided = f" on {when(latest.decided_at)}" if latest.decided_at else ""
        return [f"{command.line}: your held answer was already {latest.state.value}{decided}"]
    return []


def carried_status(ctx: MessageContext, ticket: Ticket, agent: Agent) -> str | None:
    """The status `#send` sets with the agent's held answer: "resolved" when the answer
    tells the customer their request is resolved (its mail said `#resolve`), else None."""
    latest = held.latest(ctx.session, ticket, agent)
    if latest is None or latest.state is not HeldState.HELD or latest.outbound is None:
        return None
    return "resolved" if latest.outbound.context.get("resolved") else None


def decide(ctx: MessageContext, ticket: Ticket, agent: Agent, command: Command) -> None:
    """Apply a checked `#send` or `#discard` to the agent's held answer."""
    latest = held.latest(ctx.session, ticket, agent)
    assert latest is not None, "checked before"
    if command.name == "send":
        held.release(ctx.session, ticket, latest, ctx.now)
    else:
        held.discard(ctx.session, ticket, latest, ctx.now)


def tell_answered(ctx: MessageContext, ticket: Ticket, author: Agent, text: str) -> int:
    """The first answer since the customer last wrote, to the agents who hear of the ticket
    (`[notifications] answered`): they need not answer it too. Returns how many were told."""
    if ctx.history or ctx.config.answered == "none" or _answered_before(ctx, ticket):
        return 0
    answered = {"author": f"{author.name} <{author.address}>", "text": text}
    return notify_agents(
        ctx.session,
        ticket,
        "agent/answered",
        ticket_context(ctx.session, ticket, ctx.config.subject_prefix, answered=answered),
        queues=ctx.config.queues,
        agents=ctx.config.agents,
        secret=ctx.config.secret,
        now=ctx.now,
        exclude=author.address if ctx.config.answered == "others" else None,
        shows=ctx.message_id,
    )


def _answered_before(ctx: MessageContext, ticket: Ticket) -> bool:
    """Whether an answer other than this mail's went out since the customer last wrote."""
    session = ctx.session
    last_customer = session.scalar(
        select(func.max(Message.id)).where(
            Message.ticket_id == ticket.id, Message.kind == MessageKind.CUSTOMER
        )
    )
    answers = select(func.count()).where(
        Message.ticket_id == ticket.id,
        Message.kind == MessageKind.AGENT,
        Message.id > (last_customer or 0),
        Message.message_id != ctx.message_id,
    )
    return bool(session.scalar(answers))


def _answer(message: Message) -> dict[str, str]:
    author = message.author_agent
    name = f"{author.name} <{author.address}>" if author else (message.from_address or "")
    return {"author": name, "when": when(message.received_at), "text": message.new_text}
