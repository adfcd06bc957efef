"""A ticket's SLA clocks: due times kept current from its history, and read for operators."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailtickets.db.models import (
    Event,
    EventKind,
    Message,
    MessageKind,
    SlaNotification,
    Ticket,
    TicketStatus,
)
from mailtickets.services.sla.policy import SlaConfig
from mailtickets.sla.deadlines import Due, Policy, Span, compute_due, humanize, remaining

_LABELS = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}


@dataclass(frozen=True)
class History:
    """What the due times of some tickets are computed from, read in three statements
    whatever their number: the sweep reads it for its whole batch at once."""

    #: Ticket id → the latest message of each kind.
    last: dict[int, dict[MessageKind, datetime]]
    #: Ticket id → when it waited on the customer.
    pending: dict[int, list[Span]]
    #: Ticket id → the (kind, due time) of each warning or breach already sent.
    sent: dict[int, set[tuple[str, datetime]]]


#: The history of a ticket no policy tracks: nothing is read for it.
_UNTRACKED = History({}, {}, {})


def history_of(session: Session, ids: Collection[int]) -> History:
    """The history of the tickets numbered `ids`.

    The queries flush what the caller has not written yet: a status event or a message added
    in the same transaction must count (an agent's `#status pending` stops the clocks now).
    """
    last: dict[int, dict[MessageKind, datetime]] = defaultdict(dict)
    for ticket_id, message_kind, at in session.execute(
        select(Message.ticket_id, Message.kind, func.max(Message.received_at))
        .where(Message.ticket_id.in_(ids))
        .group_by(Message.ticket_id, Message.kind)
    ):
        last[ticket_id][message_kind] = at
    sent: dict[int, set[tuple[str, datetime]]] = defaultdict(set)
    for ticket_id, kind, due_at in session.execute(
        select(SlaNotification.ticket_id, SlaNotification.kind, SlaNotification.due_at).where(
            SlaNotification.ticket_id.in_(ids)
        )
    ):
        sent[ticket_id].add((kind, due_at))
    return History(last, _pending_periods(session, ids), sent)


def due_of(session: Session, ticket: Ticket, policy: Policy, now: datetime) -> Due:
    """The ticket's due times from its messages and status history."""
    return _due(history_of(session, [ticket.id]), ticket, policy, now)


def _due(history: History, ticket: Ticket, policy: Policy, now: datetime) -> Due:
    last = history.last.get(ticket.id, {})
    return compute_due(
        policy,
        ticket.created_at,
        ticket.first_response_at,
        last.get(MessageKind.CUSTOMER),
        last.get(MessageKind.AGENT),
        history.pending.get(ticket.id, []),
        ticket.resolved_at
        if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        else None,
        now,
    )


def _pending_periods(session: Session, ids: Collection[int]) -> dict[int, list[Span]]:
    """When each ticket waited on the customer, from its status events."""
    periods: dict[int, list[Span]] = defaultdict(list)
    since: dict[int, datetime] = {}
    events = session.execute(
        select(Event.ticket_id, Event.kind, Event.at, Event.data)
        .where(Event.ticket_id.in_(ids), Event.kind.in_((EventKind.STATUS, EventKind.REOPENED)))
        .order_by(Event.ticket_id, Event.id)
    )
    for ticket_id, kind, at, data in events:
        pending = kind == EventKind.STATUS and data.get("status") == TicketStatus.PENDING
        if pending and ticket_id not in since:
            since[ticket_id] = at
        elif not pending and ticket_id in since:
            periods[ticket_id].append(Span(since.pop(ticket_id), at))
    for ticket_id, started in since.items():
        periods[ticket_id].append(Span(started, None))
    return periods


def refresh(session: Session, ticket: Ticket, config: SlaConfig, now: datetime) -> Due | None:
    """Store the ticket's due times and the next moment the sweep must look at it."""
    history = history_of(session, [ticket.id]) if config.policy(ticket) else _UNTRACKED
    return refresh_from(history, ticket, config, now)


def refresh_from(history: History, ticket: Ticket, config: SlaConfig, now: datetime) -> Due | None:
    """`refresh` with the ticket's history already read (`history_of`)."""
    policy = config.policy(ticket)
    if policy is None:
        ticket.first_response_due = ticket.next_response_due = ticket.resolution_due = None
        ticket.sla_check_at = None
        return None
    due = _due(history, ticket, policy, now)
    # While the ticket waits on the customer no clock runs: nothing is due, nothing to check.
    paused = due.paused
    ticket.first_response_due = None if paused else due.first_response
    ticket.next_response_due = None if paused else due.next_response
    ticket.resolution_due = None if paused else due.resolution
    ticket.sla_check_at = None if paused else next_check(history.sent.get(ticket.id, set()), due)
    return due


def next_check(sent: set[tuple[str, datetime]], due: Due) -> datetime | None:
    """When the sweep must look at the ticket again, given the notices `sent` for it."""
    moments = []
    for kind, due_at, warning in due.running():
        if (f"{kind}_breach", due_at) in sent:
            continue
        moments.append(due_at if (f"{kind}_warning", due_at) in sent else warning)
    return min(moments, default=None)


def describe(session: Session, ticket: Ticket, config: SlaConfig, now: datetime) -> dict[str, Any]:
    """The SLA as an operator reads it: each running clock, its due time, what is left."""
    policy = config.policy(ticket)
    if policy is None:
        return {"ticket": ticket.id, "policy": None, "state": "not tracked", "clocks": []}
    due = due_of(session, ticket, policy, now)
    clocks = [
        {
            "kind": _LABELS[kind],
            "due": due_at.isoformat(),
            "warning": warning.isoformat(),
            "remaining": humanize(remaining(policy.calendar, now, due_at)),
            "breached": now >= due_at,
        }
        for kind, due_at, warning in due.running()
    ]
    if due.paused:
        state = "paused (waiting on the customer)"
    elif any(c["breached"] for c in clocks):
        state = "breached"
    else:
        state = "running" if clocks else "met"
    return {"ticket": ticket.id, "policy": policy.name, "state": state, "clocks": clocks}
