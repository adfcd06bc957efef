"""`#files [N]`: an agent asks for the ticket's files by mail.

The answer comes in as many mails as `[outgoing] max_attachments_size` needs, each saying
which of how many it is; a file larger than that alone is described in the first, with the
command an operator saves it with, and so is a file the intake did not keep. Only the files
of the ticket the agent's signed address names are ever sent: a number beyond its files is
an error, however many files other tickets hold.
"""

from __future__ import annotations

from mailtickets.db.models import Agent, Ticket
from mailtickets.mail.commands import Command
from mailtickets.outbox.attachments import Choice, pack, ticket_files
from mailtickets.outbox.context import ticket_context
from mailtickets.outbox.enqueue import enqueue
from mailtickets.outbox.notices import reply_address
from mailtickets.pipeline.context import MessageContext
from mailtickets.services import tickets


def check_files(ctx: MessageContext, ticket: Ticket, command: Command) -> list[str]:
    """What is wrong with `#files N` on `ticket`: a number it has no file for."""
    if not command.argument:
        return []
    count = len(ticket_files(ctx.session, tickets.follow_merges(ctx.session, ticket)))
    if int(command.argument) <= count:
        return []
    has = f"it has {count} file{'s' if count != 1 else ''}" if count else "it has none"
    return [f"{command.line}: ticket #{ticket.id} has no file {command.argument} ({has})"]


def send_files(ctx: MessageContext, ticket: Ticket, agent: Agent, number: str) -> None:
    """Mail `agent` the ticket's files (or file `number`), as many mails as the cap needs."""
    listed = ticket_files(ctx.session, ticket)
    wanted = [f for f in listed if f.number == int(number)] if number else listed
    cap = ctx.config.max_attachments_size
    mails, too_large = pack(wanted, cap)
    first = Choice(
        carried=mails[0].carried if mails else (),
        left=tuple(too_large),
        not_kept=tuple(f for f in wanted if not f.kept),
        cap=cap,
    )
    answers = [first, *mails[1:]]
    for position, files in enumerate(answers, start=1):
        context = ticket_context(
            ctx.session,
            ticket,
            ctx.config.subject_prefix,
            agent={"name": agent.name, "signature": ""},
            files=files.context(ticket.id),
            part={"number": position, "of": len(answers)},
            reply_to=reply_address(ctx.config.secret, ticket, agent.id, ctx.now),
        )
        enqueue(
            ctx.session,
            template="agent/files",
            locale=ticket.queue.locale,
            recipients=[agent.address],
            ticket=ticket,
            context=context,
            now=ctx.now,
            secret=ctx.config.secret,
            in_reply_to=ctx.message_id,
            attachments=files.attachments(),
        )
