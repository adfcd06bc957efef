"""Agents saying they are away or back by mail, and their out-of-office replies.

`#away [until DATE]` and `#back` count like any command: on an agent's own signed reply
address (see `agent_reply`), or, on the plain support address, only when strict mode finds
an aligned DKIM or SPF pass; otherwise the agent is told how instead. An agent's
out-of-office reply to our mail (one whose In-Reply-To or References names a notice we sent
them: a From header alone proves nothing) marks them away until the date it names, or until
they next act; it is kept on its ticket as an automatic message and answers nobody but that
agent, told once what it did.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NoReturn

from sqlalchemy import select

from mailtickets.db.models import Agent, EventKind, OutboundMessage
from mailtickets.errors import Stop
from mailtickets.mail.absence import return_date
from mailtickets.mail.commands import Command, parse_commands
from mailtickets.outbox.enqueue import enqueue
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext
from mailtickets.services import absence, tickets

ABSENCE_COMMANDS = frozenset({"away", "back"})


def absence_commands(ctx: MessageContext) -> list[Command] | None:
    """The mail's commands when it holds `#away` or `#back` and no other; None otherwise."""
    parsed = parse_commands(ctx.new_text)
    names = {c.name for c in parsed.commands}
    if not names or not names <= ABSENCE_COMMANDS or parsed.errors:
        return None
    return list(parsed.commands)


def absence_problem(command: Command, ctx: MessageContext) -> str | None:
    """What is wrong with an `#away` date, checked before anything changes."""
    day = date.fromisoformat(command.argument) if command.argument else None
    why = absence.why_not(day, ctx.now) if command.name == "away" else None
    return f"{command.line}: {why}" if why else None


def apply_absence(ctx: MessageContext, agent: Agent, command: Command) -> None:
    """Apply one checked `#away` or `#back` and confirm it to the agent."""
    if command.name == "away":
        day = date.fromisoformat(command.argument) if command.argument else None
        absence.set_away(agent, ctx.now, day, absence.BY_MAIL)
    else:
        absence.set_back(agent)
    tell(ctx, agent, "away" if command.name == "away" else "back")


def record_absence_mail(ctx: MessageContext, commands: list[Command]) -> NoReturn:
    """`#away` / `#back` on the plain support address: applied only with an aligned pass.
    It ends the message's way (`Stop`): nothing else in it is for a ticket."""
    agent = ctx.session.scalars(select(Agent).where(Agent.address == ctx.sender_address)).one()
    authentication = ctx.authentication()
    if authentication is None or not authentication.aligned:
        tell(ctx, agent, "unproven")
        raise Stop(Outcome.NOT_RECORDED, f"#away/#back from {agent.address}: not proven")
    problems = [p for c in commands if (p := absence_problem(c, ctx))]
    if problems:
        tell(ctx, agent, "refused", reason="; ".join(problems))
        raise Stop(Outcome.COMMAND_ERROR, f"#away from {agent.address}: {problems[0]}")
    for command in commands:
        apply_absence(ctx, agent, command)
    raise Stop(Outcome.COMMANDS, f"{agent.address}: {absence.state(agent, ctx.now).describe()}")


def record_out_of_office(ctx: MessageContext) -> None:
    """The agent's own automatic reply to our mail about `ctx.ticket` marks them away."""
    agent = ctx.session.scalars(select(Agent).where(Agent.address == ctx.sender_address)).one()
    ticket = ctx.ticket
    assert ticket is not None
    if not _answers_our_mail_to(ctx, agent):
        return  # anyone can write an auto-reply From an agent; only they had our mail
    if agent.away_at(ctx.now) and agent.away_how != absence.BY_AUTO_REPLY:
        return  # they said so themselves, which their robot does not overrule
    day = return_date(ctx.mail.subject, ctx.mail.text, ctx.now.date())
    until = absence.back_on(day) if day is not None else None
    if agent.away_at(ctx.now) and agent.away_until == until:
        return  # already told
    absence.set_away(agent, ctx.now, day, absence.BY_AUTO_REPLY)
    tickets.record(
        ctx.session,
        ticket,
        EventKind.AGENT_AWAY,
        ctx.now,
        agent.address,
        until=day.isoformat() if day else None,
    )
    tell(ctx, agent, "auto_reply")


def _answers_our_mail_to(ctx: MessageContext, agent: Agent) -> bool:
    """Whether the mail answers a message we sent to `agent` (by its Message-ID)."""
    named = list(dict.fromkeys((*ctx.mail.in_reply_to, *ctx.mail.references)))
    if not named:
        return False
    sent = ctx.session.scalars(
        select(OutboundMessage.recipients).where(OutboundMessage.message_id.in_(named))
    )
    return any(agent.address in recipients for recipients in sent)


def tell(ctx: MessageContext, agent: Agent, state: str, **extra: Any) -> None:
    """`agent/absence` to the agent: what their mail did to their availability."""
    if ctx.history:
        return
    settings = ctx.config.agent(agent.address)
    now = absence.state(agent, ctx.now)
    queue = ctx.queue
    context = {
        "queue": {"name": queue.name, "address": queue.address},
        "agent": {"name": settings.name if settings else agent.name, "signature": ""},
        "absence": {
            "state": state,
            "until": f"{now.until:%Y-%m-%d}" if now.until else None,
            "reason": extra.get("reason"),
        },
    }
    enqueue(
        ctx.session,
        template="agent/absence",
        locale=queue.locale,
        recipients=[agent.address],
        ticket=None,
        context=context,
        now=ctx.now,
        secret=ctx.config.secret,
        domain=queue.address.rpartition("@")[2],
        in_reply_to=ctx.message_id,
    )
