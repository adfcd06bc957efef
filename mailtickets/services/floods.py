"""Agents' inboxes against floods: one notice and one summary instead of a notice a message.

Each customer message that would be announced to agents is tallied against its sender and,
when the sender is an address first seen within the hour, against its domain (a flood from
fresh addresses at one domain). Past `threshold` messages of one source within an hour the
message's notice is withheld: the first one withheld becomes an `agent/flood` notice saying
the flood began, and `summarise` (a scheduler job) later sends one `agent/flood` summary —
"flood from X, N messages, tickets #a-#b" — once the source has been quiet for `QUIET`, or
an hour after the first withheld message. Tallies, withheld marks and the notices are written
in the transaction of the message or of the summary: a crash repeats nothing and loses nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.config.settings import AgentSettings, QueueSettings
from mailtickets.db.models import Contact, NoticeTally, Ticket
from mailtickets.outbox.enqueue import enqueue
from mailtickets.outbox.notices import notify_agents, recipients
from mailtickets.services.sla.policy import SlaConfig

#: The span a threshold counts over.
WINDOW = timedelta(hours=1)
#: A flood without a message for this long is over, and summarised.
QUIET = timedelta(minutes=10)
#: How often the scheduler looks for floods to summarise.
EVERY = timedelta(minutes=1)
TEMPLATE = "agent/flood"


@dataclass(frozen=True)
class Flood:
    """The flood a message belongs to: its source and the messages from it this hour."""

    source: str
    messages: int
    #: This message is the first withheld: the agents hear of the flood now.
    began: bool


def tally(
    session: Session, ticket: Ticket, sender: Contact, now: datetime, threshold: int
) -> Flood | None:
    """Count a customer message on `ticket`; the flood it is part of, None when it is not
    (its notice goes out as usual)."""
    since = now - WINDOW
    sources = [sender.address]
    if sender.created_at > since:
        sources.append("@" + sender.address.rpartition("@")[2])
    # Each source's messages this hour and those withheld, read in one statement before
    # this message's rows are written (it is one more), and the rows then written in one:
    # the message's transaction holds the write lock meanwhile, so every statement counts.
    # Neither touches what the ORM has pending (tallies are only written here), so neither
    # flushes it: the message's events go out later, in one batch with the rest.
    with session.no_autoflush:
        counted = session.execute(
            select(
                NoticeTally.source,
                func.count(),
                func.count().filter(NoticeTally.withheld.is_(True)),
            )
            .where(NoticeTally.source.in_(sources), NoticeTally.at > since)
            .group_by(NoticeTally.source)
        )
        recent = {source: (count, withheld) for source, count, withheld in counted}
        flood = None
        for source in sources:
            count, earlier = recent.get(source, (0, 0))
            if count + 1 > threshold:
                # Withheld against one source only, so that one summary lists the message.
                flood = Flood(source, count + 1, began=not earlier)
                break
        session.execute(
            insert(NoticeTally),
            [
                {
                    "source": source,
                    "at": now,
                    "ticket_id": ticket.id,
                    "withheld": flood is not None and source == flood.source,
                }
                for source in sources
            ],
        )
    return flood


def announce(
    session: Session,
    ticket: Ticket,
    context: dict[str, Any],
    *,
    queues: Sequence[QueueSettings],
    agents: Sequence[AgentSettings],
    secret: bytes,
    now: datetime,
) -> int:
    """The `agent/flood` notice that a flood began, about its latest `ticket` (the context
    holds `flood`), to the agents who would have heard of it; how many."""
    return notify_agents(
        session,
        ticket,
        TEMPLATE,
        context,
        queues=queues,
        agents=agents,
        secret=secret,
        now=now,
    )


def summarise(
    sessions: sessionmaker[Session], config: SlaConfig, threshold: int, now: datetime
) -> int:
    """Send the summary of each flood that is over (quiet for `QUIET`) or an hour old, and
    forget tallies older than the hour; return how many notices were queued."""
    queued = 0
    with sessions.begin() as session:
        withheld = session.scalars(
            select(NoticeTally)
            .where(NoticeTally.withheld.is_(True), NoticeTally.summarised_at.is_(None))
            .order_by(NoticeTally.id)
        )
        floods: dict[str, list[NoticeTally]] = defaultdict(list)
        for row in withheld:
            floods[row.source].append(row)
        for source, rows in floods.items():
            if rows[-1].at > now - QUIET and rows[0].at > now - WINDOW:
                continue
            queued += _summary(session, config, source, rows, threshold, now)
        session.execute(
            delete(NoticeTally).where(
                NoticeTally.at <= now - WINDOW,
                or_(NoticeTally.withheld.is_(False), NoticeTally.summarised_at.is_not(None)),
            )
        )
    return queued


def _summary(
    session: Session,
    config: SlaConfig,
    source: str,
    rows: list[NoticeTally],
    threshold: int,
    now: datetime,
) -> int:
    session.execute(
        update(NoticeTally)
        .where(NoticeTally.id.in_([row.id for row in rows]))
        .values(summarised_at=now)
    )
    tickets = sorted({row.ticket_id for row in rows})
    last = session.get(Ticket, tickets[-1])
    if last is None:  # erased since (privacy): nothing left to tell
        return 0
    # Mail about no ticket, as the digest is: an agent answering it must not write to the
    # customer of the last ticket. It goes to the queue's agents, assignee or not.
    queue = last.queue
    context = {
        "flood": flood_context(source, len(rows), tickets[0], tickets[-1], threshold, over=True),
        "queue": {"name": queue.name, "address": queue.address},
        "ticket": {"tag": ""},
    }
    agents = recipients(session, last, config.queues, config.agents, to_assignee=False)
    for agent in agents:
        enqueue(
            session,
            template=TEMPLATE,
            locale=queue.locale,
            recipients=[agent.address],
            ticket=None,
            context=context | {"agent": {"name": agent.name, "signature": ""}},
            now=now,
            secret=config.secret,
            domain=queue.address.rpartition("@")[2],
        )
    return len(agents)


def flood_context(
    source: str, messages: int, first: int, last: int, threshold: int, *, over: bool
) -> dict[str, Any]:
    """What `agent/flood` shows: who floods, how many messages, which tickets; `over` for
    the summary, else the notice that it began."""
    return {
        "source": source,
        "messages": messages,
        "first": first,
        "last": last,
        "threshold": threshold,
        "over": over,
    }
