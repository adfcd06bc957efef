"""Mail to agents about a ticket: who gets it, and the signed address they answer on."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, object_session

from mailtickets.config.settings import AgentSettings, QueueSettings
from mailtickets.db.models import Agent, Follower, Message, MessageKind, OutboundMessage, Ticket
from mailtickets.mail.addresses import normalise
from mailtickets.mail.tokens import reply_token
from mailtickets.outbox.attachments import NO_FILES, Choice
from mailtickets.outbox.enqueue import outbound_row
from mailtickets.outbox.history import Sightings, conversation, conversations

AGENT_TOKEN_LIFETIME = timedelta(days=90)
#: What a notice shows of the text it tells of; `#history` has more, `tickets show` all.
MAX_NOTICE_TEXT = 10_000


def reply_address(
    secret: bytes, ticket: Ticket, agent_id: int | None, now: datetime, answered: int | None = None
) -> str:
    """`<queue local>+<token>@<queue domain>`; agents' tokens expire, customers' do not.

    An agent's token also names the newest answer to the customer so far (`answered`, read
    when not given): what the agent saw when this mail was sent, which the collision check
    compares their reply with.
    """
    expires = now + AGENT_TOKEN_LIFETIME if agent_id else None
    session = object_session(ticket)
    seen = answered
    if seen is None and agent_id and session is not None:
        seen = last_answer(session, ticket)
    token = reply_token(secret, ticket.id, agent_id, expires, seen)
    local, _, domain = ticket.queue.address.partition("@")
    return f"{local}+{token}@{domain}"


def last_answer(session: Session, ticket: Ticket) -> int:
    """The id of the newest answer the customer was sent on `ticket`, 0 before the first."""
    newest = session.scalar(
        select(func.max(Message.id)).where(
            Message.ticket_id == ticket.id, Message.kind == MessageKind.AGENT
        )
    )
    return newest or 0


def last_answers(session: Session, ticket_ids: Sequence[int]) -> dict[int, int]:
    """`last_answer` of each of `ticket_ids`, in one statement."""
    rows = session.execute(
        select(Message.ticket_id, func.max(Message.id))
        .where(Message.ticket_id.in_(ticket_ids), Message.kind == MessageKind.AGENT)
        .group_by(Message.ticket_id)
    )
    return dict.fromkeys(ticket_ids, 0) | dict(rows.all())


def serving(queue: QueueSettings | None, agents: Sequence[AgentSettings]) -> list[AgentSettings]:
    """Agents serving `queue`; an agent who lists no queues serves them all."""
    if queue is None:
        return []
    refs = {queue.name.lower(), normalise(queue.address)}
    return [a for a in agents if not a.queues or refs & {r.lower() for r in a.queues}]


def recipients(
    session: Session,
    ticket: Ticket,
    queues: Sequence[QueueSettings],
    agents: Sequence[AgentSettings],
    exclude: str | None = None,
    to_assignee: bool = True,
    now: datetime | None = None,
    following: Sequence[Agent] | None = None,
) -> list[Agent]:
    """The assignee, or every active agent of the ticket's queue not away at `now` (all of
    them when all are) while nobody is assigned (or when `to_assignee` is off), and the
    ticket's followers (read unless `following`
    says who they are); never `exclude` (the agent whose action this is about). An assignee
    away at `now` is covered: the queue's managers hear too, or its other agents when it
    has none."""
    addresses = _serving(ticket, queues, agents)
    query = select(Agent).where(Agent.address.in_(addresses), Agent.active.is_(True))
    team = list(session.scalars(query.order_by(Agent.id)))
    if following is None:
        following = followers(session, ticket)
    return chosen(ticket, team, following, exclude, to_assignee, now)


def _serving(
    ticket: Ticket, queues: Sequence[QueueSettings], agents: Sequence[AgentSettings]
) -> list[str]:
    """The addresses of `agents` serving `ticket`'s queue."""
    queue = next((q for q in queues if normalise(q.address) == ticket.queue.address), None)
    return [normalise(a.address) for a in serving(queue, agents)]


def chosen(
    ticket: Ticket,
    team: Sequence[Agent],
    following: Sequence[Agent],
    exclude: str | None,
    to_assignee: bool,
    now: datetime | None,
) -> list[Agent]:
    """`recipients` of `ticket` from its queue's active `team` (in id order) and the agents
    `following` it."""
    assignee = ticket.assignee
    if assignee is None or not to_assignee or not assignee.active:
        # An assignee no longer configured hears nothing more: the queue does instead. Its
        # agents away at `now` do not, unless all of them are.
        present = [a for a in team if now is None or not a.away_at(now)]
        targets = present or list(team)
    elif now is not None and assignee.away_at(now):
        others = [a for a in team if a.id != assignee.id]
        targets = [assignee, *([a for a in others if a.role == "manager"] or others)]
    else:
        targets = [assignee]
    unique = {a.id: a for a in [*targets, *following] if a.active}
    return [a for a in unique.values() if a.address != exclude]


def followers(session: Session, ticket: Ticket) -> list[Agent]:
    """The agents following `ticket` (`#follow`), in the order they started."""
    query = select(Follower).where(Follower.ticket_id == ticket.id).order_by(Follower.id)
    return [row.agent for row in session.scalars(query)]


def notify_agents(
    session: Session,
    ticket: Ticket,
    template: str,
    context: dict[str, Any],
    *,
    queues: Sequence[QueueSettings],
    agents: Sequence[AgentSettings],
    secret: bytes,
    now: datetime,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    exclude: str | None = None,
    to_assignee: bool = True,
    files: Choice = NO_FILES,
    shows: str | None = None,
    with_history: bool = False,
    followers_only: bool = False,
    opened_by_shown: bool = False,
) -> int:
    """Enqueue `template` to each agent who should hear about `ticket`, with `files`; return
    how many.

    An agent who has not seen the ticket yet (or every one, `with_history`) also gets the
    conversation so far, without the message `shows` (by Message-ID) that the notice holds.
    `followers_only` tells only the ticket's followers (of an agent's answer).
    `opened_by_shown`: the customer's message `shows` opened the ticket, in this transaction.
    """
    if opened_by_shown:
        # Nobody follows, answered or has seen a ticket that a customer's message opened in
        # this transaction, and it holds no message but the one shown: nothing to read.
        targets = recipients(
            session, ticket, queues, agents, exclude, to_assignee, now, following=()
        )
        told = Told(targets, set(), None, 0)
    else:
        told = _told(
            session,
            ticket,
            queues,
            agents,
            exclude,
            to_assignee,
            now,
            with_history=with_history,
            shows=shows,
            followers_only=followers_only,
        )
    rows = told.rows(ticket, template, context, agents, secret, now, in_reply_to, references, files)
    if rows:
        # One statement for all of them, where ORM objects made SQLite run an INSERT ...
        # RETURNING for each.
        session.execute(insert(OutboundMessage), rows)
    return len(told.targets)


def _told(
    session: Session,
    ticket: Ticket,
    queues: Sequence[QueueSettings],
    agents: Sequence[AgentSettings],
    exclude: str | None,
    to_assignee: bool,
    now: datetime,
    *,
    with_history: bool,
    shows: str | None,
    followers_only: bool,
) -> Told:
    """Who `notify_agents` tells, read from the ticket as it stands."""
    if followers_only:
        targets = [a for a in followers(session, ticket) if a.active and a.address != exclude]
    else:
        targets = recipients(session, ticket, queues, agents, exclude, to_assignee, now)
    # Read before any of these notices is queued: queuing one makes its agent have seen it.
    sightings = Sightings.read(session, [ticket.id])
    newcomers = {a.id for a in targets if with_history or not sightings.seen(ticket.id, a)}
    history = conversation(session, ticket, leave_out=shows) if newcomers else None
    answered = last_answer(session, ticket) if targets else 0
    return Told(targets, newcomers, history, answered)


class NoticeBatch:
    """What agents' notices about a batch of tickets need, read once for them all (the SLA
    sweep's): the active agents, each ticket's followers, who has seen which, the
    conversations so far and the newest answers. A notice queued here counts as seen by the
    next one of the batch, as a flush would make it."""

    def __init__(self, session: Session, tickets: Sequence[Ticket]) -> None:
        ids = [ticket.id for ticket in tickets]
        query = select(Agent).where(Agent.active.is_(True)).order_by(Agent.id)
        self.team = list(session.scalars(query))
        self.following: dict[int, list[Agent]] = defaultdict(list)
        rows = session.execute(
            select(Follower.ticket_id, Agent)
            .join(Agent, Follower.agent_id == Agent.id)
            .where(Follower.ticket_id.in_(ids))
            .order_by(Follower.id)
        )
        for ticket_id, agent in rows:
            self.following[ticket_id].append(agent)
        self.sightings = Sightings.read(session, ids)
        self.conversations = conversations(session, ids)
        self.answered = last_answers(session, ids)
        #: The outbox rows of the batch's notices, inserted together by `write`.
        self.queued: list[dict[str, Any]] = []

    def notify(
        self,
        ticket: Ticket,
        template: str,
        context: dict[str, Any],
        *,
        queues: Sequence[QueueSettings],
        agents: Sequence[AgentSettings],
        secret: bytes,
        now: datetime,
        to_assignee: bool = True,
    ) -> int:
        """`notify_agents` of one of the batch's tickets, with what was read for the batch."""
        addresses = set(_serving(ticket, queues, agents))
        team = [a for a in self.team if a.address in addresses]
        targets = chosen(ticket, team, self.following[ticket.id], None, to_assignee, now)
        newcomers = {a.id for a in targets if not self.sightings.seen(ticket.id, a)}
        history = self.conversations.get(ticket.id)
        told = Told(targets, newcomers, history, self.answered[ticket.id])
        self.queued.extend(told.rows(ticket, template, context, agents, secret, now))
        for agent in targets:
            self.sightings.mail(ticket.id, agent.address)
        return len(targets)

    def write(self, session: Session) -> None:
        """Insert the notices queued: one statement, where ORM objects made SQLite run an
        INSERT ... RETURNING for each."""
        if self.queued:
            session.execute(insert(OutboundMessage), self.queued)


@dataclass(frozen=True)
class Told:
    """The agents a notice goes to, those of them new to the ticket (who get the
    conversation `history`), and the newest answer their reply addresses name."""

    targets: Sequence[Agent]
    newcomers: set[int]
    history: dict[str, Any] | None
    answered: int

    def rows(
        self,
        ticket: Ticket,
        template: str,
        context: dict[str, Any],
        agents: Sequence[AgentSettings],
        secret: bytes,
        now: datetime,
        in_reply_to: str | None = None,
        references: Sequence[str] = (),
        files: Choice = NO_FILES,
    ) -> list[dict[str, Any]]:
        """The outbox rows of `template`, one to each agent (`enqueue.outbound_row`)."""
        signatures = {normalise(a.address): a.signature for a in agents}
        context = _capped(context)
        listed = files.context(ticket.id)
        return [
            outbound_row(
                template=template,
                locale=ticket.queue.locale,
                recipients=[agent.address],
                ticket=ticket,
                context=context
                | {
                    "agent": {"name": agent.name, "signature": signatures.get(agent.address, "")},
                    "reply_to": reply_address(secret, ticket, agent.id, now, self.answered),
                    "files": listed,
                    "history": self.history if agent.id in self.newcomers else None,
                },
                now=now,
                secret=secret,
                in_reply_to=in_reply_to,
                references=references,
                attachments=files.attachments(),
            )
            for agent in self.targets
        ]


def _capped(context: dict[str, Any]) -> dict[str, Any]:
    """`context` with the message's text cut at `MAX_NOTICE_TEXT`, ending with a line that
    says where the rest is: a 5 MB mail makes no 5 MB notice to each agent."""
    message = context.get("message") or {}
    text = message.get("new_text") or ""
    if len(text) <= MAX_NOTICE_TEXT:
        return context
    kept = text[:MAX_NOTICE_TEXT]
    # At a line's end when there is one near, so no word is cut in two.
    kept = kept[: kept.rfind("\n")] if "\n" in kept[-500:] else kept
    rest = len(text) - len(kept)
    cut = f"{kept.rstrip()}\n\n[{rest} more characters; the rest: #history]"
    return context | {"message": message | {"new_text": cut}}
