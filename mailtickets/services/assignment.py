"""Who gets a new ticket: `[[queue]] assign` shares the queue's tickets out among its agents
who are not away, in turn (`round_robin`) or to the one holding the fewest of the queue's
open and pending tickets (`least_open`, ties in turn).

The choice is made under a lock on the queue's `AssignmentCursor` row, held until the
ticket's transaction commits: an instance on a shared PostgreSQL waits for another's
choice and then reads the counts and the cursor that choice left, never stale ones (so the
load counted is the queue's own: another queue's choices are made under another lock). SQLite
has one writer at a time anyway. The cursor is a table row, so a restart goes on in turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailtickets.config.settings import AgentSettings, QueueSettings
from mailtickets.db.models import Agent, AssignmentCursor, Queue, Ticket, TicketStatus
from mailtickets.mail.addresses import normalise
from mailtickets.outbox.notices import serving

#: The tickets that count as an agent's load for `least_open`.
OPEN_WORK = (TicketStatus.OPEN, TicketStatus.PENDING)


def choose_assignee(
    session: Session,
    queue: QueueSettings,
    agents: Sequence[AgentSettings],
    now: datetime,
) -> Agent | None:
    """The agent the queue's next new ticket goes to; None when the queue assigns nobody
    or every one of its agents is away. The choice is recorded: call once per ticket."""
    if queue.assign == "none":
        return None
    queue_id, cursor = _locked_cursor(session, queue, now)
    team = available(session, queue, agents, now)
    if not team:
        return None
    # In turn: the agents after the last one chosen come first.
    after = [a for a in team if a.id > (cursor.last_agent_id or 0)]
    turn = after + [a for a in team if a not in after]
    if queue.assign == "least_open":
        load = open_counts(session, [a.id for a in turn], queue_id)
        chosen = min(turn, key=lambda a: load.get(a.id, 0))
    else:
        chosen = turn[0]
    cursor.last_agent_id, cursor.updated_at = chosen.id, now
    return chosen


def available(
    session: Session, queue: QueueSettings, agents: Sequence[AgentSettings], now: datetime
) -> list[Agent]:
    """The queue's active agents who are not away at `now`, in a stable order."""
    addresses = [normalise(a.address) for a in serving(queue, agents)]
    query = select(Agent).where(Agent.address.in_(addresses), Agent.active.is_(True))
    return [a for a in session.scalars(query.order_by(Agent.id)) if not a.away_at(now)]


def open_counts(
    session: Session, agent_ids: Sequence[int], queue_id: int | None = None
) -> dict[int, int]:
    """How many open and pending tickets each agent holds, in queue `queue_id` or in all."""
    query = (
        select(Ticket.assignee_id, func.count(Ticket.id))
        .where(Ticket.assignee_id.in_(agent_ids), Ticket.status.in_(OPEN_WORK))
        .group_by(Ticket.assignee_id)
    )
    if queue_id is not None:
        query = query.where(Ticket.queue_id == queue_id)
    return {agent_id: count for agent_id, count in session.execute(query).all() if agent_id}


def _locked_cursor(
    session: Session, queue: QueueSettings, now: datetime
) -> tuple[int, AssignmentCursor]:
    """The queue's id and its cursor row, locked until the transaction ends."""
    found = session.scalars(select(Queue.id).where(Queue.address == normalise(queue.address)))
    row_id = found.one()
    if session.get(AssignmentCursor, row_id) is None:
        try:
            # The first ticket of a queue on two instances at once: one insert wins, the
            # other waits for it and then locks the row it made.
            with session.begin_nested():
                session.add(AssignmentCursor(queue_id=row_id, updated_at=now))
        except IntegrityError:
            pass
    query = select(AssignmentCursor).where(AssignmentCursor.queue_id == row_id)
    locked = query.with_for_update().execution_options(populate_existing=True)
    return row_id, session.scalars(locked).one()
