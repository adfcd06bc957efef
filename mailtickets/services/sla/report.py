"""How each queue kept its SLA: response and resolution times in business hours, breaches."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailtickets.db.models import Event, EventKind, Ticket
from mailtickets.services.sla.policy import SlaConfig
from mailtickets.sla.calendar import ALWAYS_OPEN, Calendar, business_time_between


def report(
    session: Session,
    config: SlaConfig,
    since: datetime,
    now: datetime,
    queue: str | None = None,
) -> list[dict[str, Any]]:
    """Per queue and priority, for tickets created since `since`: counts, median and 90th
    percentile first-response and resolution times in business hours, the share within the
    SLA, and breaches."""
    query = select(Ticket).where(Ticket.created_at >= since).order_by(Ticket.id)
    groups: dict[tuple[str, str], list[Ticket]] = {}
    for ticket in session.scalars(query):
        if queue is None or ticket.queue.address == queue.lower() or ticket.queue.name == queue:
            groups.setdefault((ticket.queue.address, ticket.priority.value), []).append(ticket)
    breaches = dict(
        session.execute(
            select(Event.ticket_id, func.count())
            .where(Event.kind == EventKind.SLA_BREACHED)
            .group_by(Event.ticket_id)
        ).all()
    )
    return [
        _report_row(session, config, address, priority, members, breaches, now)
        for (address, priority), members in sorted(groups.items())
    ]


def _report_row(
    session: Session,
    config: SlaConfig,
    queue: str,
    priority: str,
    members: list[Ticket],
    breaches: dict[int, int],
    now: datetime,
) -> dict[str, Any]:
    first: list[float] = []
    resolution: list[float] = []
    within = tracked = 0
    for ticket in members:
        policy = config.policy(ticket)
        calendar = policy.calendar if policy else ALWAYS_OPEN
        if ticket.first_response_at is not None:
            first.append(_hours(calendar, ticket.created_at, ticket.first_response_at))
        if ticket.resolved_at is not None:
            resolution.append(_hours(calendar, ticket.created_at, ticket.resolved_at))
        if policy is not None:
            tracked += 1
            within += breaches.get(ticket.id, 0) == 0
    return {
        "queue": queue,
        "priority": priority,
        "tickets": len(members),
        "first_response_hours": {"median": _quantile(first, 0.5), "p90": _quantile(first, 0.9)},
        "resolution_hours": {
            "median": _quantile(resolution, 0.5),
            "p90": _quantile(resolution, 0.9),
        },
        "within_sla_percent": round(100 * within / tracked, 1) if tracked else None,
        "breaches": sum(breaches.get(t.id, 0) for t in members),
    }


def _hours(calendar: Calendar, start: datetime, end: datetime) -> float:
    return business_time_between(calendar, start, end).total_seconds() / 3600


def _quantile(values: list[float], q: float) -> float | None:
    """The q-quantile by the nearest-rank method, rounded to minutes' precision."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(q * len(ordered)), 1)
    return round(ordered[rank - 1], 2)
