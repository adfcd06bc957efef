"""A ticket's SLA clocks: due times kept current from its history, and read for operators."""

from __future__ import annotations

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


def due_of(session: Session, ticket: Ticket, policy: Policy, now: datetime) -> Due:
    """The ticket's due times from its messages and status history.

    The queries flush what the caller has not written yet: a status event or a message added
    in the same transaction must count (an agent's `#status pending` stops the clocks now).
    """
    last = dict(
        session.execute(
            select(Message.kind, func.max(Message.received_at))
            .where(Message.ticket_id == ticket.id)
            .group_by(Message.kind)
        ).all()
    )
    return compute_due(
        policy,
        ticket.created_at,
        ticket.first_response_at,
        last.get(MessageKind.CUSTOMER),
        last.get(MessageKind.AGENT),
        _pending_periods(session, ticket),
        ticket.resolved_at
        if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        else None,
        now,
    )


def _pending_periods(session: Session, ticket: Ticket) -> list[Span]:
    """When the ticket waited on the customer, from its status events."""
    periods: list[Span] = []
    since: datetime | None = None
    events = session.scalars(
        select(Event)
        .where(Event.ticket_id == ticket.id, Event.kind.in_((EventKind.STATUS, EventKind.REOPENED)))
        .order_by(Event.id)
    )
    for event in events:
        pending = (
            event.kind == EventKind.STATUS and event.data.get("status") == TicketStatus.PENDING
        )
        if pending and since is None:
            since = event.at
        elif not pending and since is not None:
            periods.append(Span(since, event.at))
            since = None
    if since is not None:
        periods.append(Span(since, None))
    return periods


def refresh(session: Session, ticket: Ticket, config: SlaConfig, now: datetime) -> Due | None:
    """Store the ticket's due times and the next moment the sweep must look at it."""
    policy = config.policy(ticket)
    if policy is None:
        ticket.first_response_due = ticket.next_response_due = ticket.resolution_due = None
        ticket.sla_check_at = None
        return None
    due = due_of(session, ticket, policy, now)
    # While the ticket waits on the customer no clock runs: nothing is due, nothing to check.
    paused = due.paused
    ticket.first_response_due = None if paused else due.first_response
    ticket.next_response_due = None if paused else due.next_response
    ticket.resolution_due = None if paused else due.resolution
    ticket.sla_check_at = None if paused else next_check(session, ticket, due)
    return due


def _sent(session: Session, ticket: Ticket) -> set[tuple[str, datetime]]:
    rows = session.execute(
        select(SlaNotification.kind, SlaNotification.due_at).where(
            SlaNotification.ticket_id == ticket.id
        )
    )
    return {(kind, due) for kind, due in rows}


def next_check(session: Session, ticket: Ticket, due: Due) -> datetime | None:
    sent = _sent(session, ticket)
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
