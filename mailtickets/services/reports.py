"""The numbers managers ask for: ticket volume, agents' work and customer satisfaction.

Every report covers what happened since a moment, in flat rows (one dict of plain values
each) so the CLI prints them as a table, JSON or CSV alike. Days are UTC dates. Response
times here are wall-clock minutes, what a customer waits; `sla report` gives business hours.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mailtickets.db.models import (
    Agent,
    Event,
    EventKind,
    Message,
    MessageKind,
    Queue,
    SatisfactionRating,
    Ticket,
    TicketStatus,
)

REPORTS = ("volume", "agents", "csat")
#: Ratings of 4 and 5 count as satisfied: the CSAT score is their share of all ratings.
SATISFIED = 4


def median_minutes(waits: Iterable[timedelta]) -> float | None:
    """The median of `waits` in minutes, one decimal; None when there are none."""
    minutes = [w.total_seconds() / 60 for w in waits]
    return round(statistics.median(minutes), 1) if minutes else None


def volume(session: Session, since: datetime) -> list[dict[str, Any]]:
    """Per day and queue: tickets created, resolved and closed, customer messages received."""
    counts: dict[tuple[date, str], Counter[str]] = defaultdict(Counter)
    tickets = (
        select(Queue.address, Ticket.created_at, Ticket.resolved_at, Ticket.closed_at)
        .join(Queue, Ticket.queue_id == Queue.id)
        .where(
            or_(Ticket.created_at >= since, Ticket.resolved_at >= since, Ticket.closed_at >= since)
        )
    )
    for queue, created, resolved, closed in session.execute(tickets):
        for column, moment in (("created", created), ("resolved", resolved), ("closed", closed)):
            if moment is not None and moment >= since:
                counts[moment.date(), queue][column] += 1
    messages = (
        select(Queue.address, Message.received_at)
        .join(Ticket, Message.ticket_id == Ticket.id)
        .join(Queue, Ticket.queue_id == Queue.id)
        .where(Message.kind == MessageKind.CUSTOMER, Message.received_at >= since)
    )
    for queue, received in session.execute(messages):
        counts[received.date(), queue]["customer_messages"] += 1
    return [
        {
            "date": day.isoformat(),
            "queue": queue,
            "created": found["created"],
            "resolved": found["resolved"],
            "closed": found["closed"],
            "customer_messages": found["customer_messages"],
        }
        for (day, queue), found in sorted(counts.items())
    ]


def agents(session: Session, since: datetime) -> list[dict[str, Any]]:
    """Per agent: replies sent, tickets answered first and how fast, tickets resolved, open
    tickets assigned now, and the ratings of the tickets assigned to them."""
    rows = {
        agent.id: _agent_row(agent) for agent in session.scalars(select(Agent).order_by(Agent.id))
    }
    by_address = {row["agent"]: row for row in rows.values()}
    replies = select(Message.author_agent_id).where(
        Message.kind == MessageKind.AGENT, Message.received_at >= since
    )
    for (agent_id,) in session.execute(replies):
        if agent_id in rows:
            rows[agent_id]["replies"] += 1
    waits: dict[int, list[timedelta]] = defaultdict(list)
    for agent_id, wait in _first_responses(session, since):
        waits[agent_id].append(wait)
    resolved = select(Event.actor, Event.data).where(
        Event.kind == EventKind.STATUS, Event.at >= since
    )
    for actor, data in session.execute(resolved):
        if actor in by_address and data.get("status") == TicketStatus.RESOLVED.value:
            by_address[actor]["resolved"] += 1
    open_now = (
        select(Ticket.assignee_id, func.count())
        .where(Ticket.status.in_((TicketStatus.OPEN, TicketStatus.PENDING)))
        .group_by(Ticket.assignee_id)
    )
    for assignee, count in session.execute(open_now):
        if assignee in rows:
            rows[assignee]["assigned_open"] = count
    ratings: dict[int | None, list[int]] = defaultdict(list)
    rated = (
        select(Ticket.assignee_id, SatisfactionRating.rating)
        .join(Ticket, SatisfactionRating.ticket_id == Ticket.id)
        .where(SatisfactionRating.rated_at >= since)
    )
    for assignee, rating in session.execute(rated):
        ratings[assignee].append(rating)
    for agent_id, row in rows.items():
        row["first_responses"] = len(waits[agent_id])
        row["median_first_response_minutes"] = median_minutes(waits[agent_id])
        row["ratings"] = len(ratings[agent_id])
        row["csat_average"] = _average(ratings[agent_id])
    return list(rows.values())


def _agent_row(agent: Agent) -> dict[str, Any]:
    return {
        "agent": agent.address,
        "name": agent.name,
        "replies": 0,
        "first_responses": 0,
        "median_first_response_minutes": None,
        "resolved": 0,
        "assigned_open": 0,
        "ratings": 0,
        "csat_average": None,
    }


def _first_responses(session: Session, since: datetime) -> list[tuple[int, timedelta]]:
    """(agent, wait) for each ticket first answered since `since`, by the agent who did."""
    answered = session.execute(
        select(Ticket.id, Ticket.created_at, Ticket.first_response_at).where(
            Ticket.first_response_at >= since
        )
    ).all()
    if not answered:
        return []
    firsts: dict[int, int] = {}
    replies = (
        select(Message.ticket_id, Message.author_agent_id)
        .where(
            Message.kind == MessageKind.AGENT,
            Message.ticket_id.in_([ticket_id for ticket_id, _, _ in answered]),
        )
        .order_by(Message.received_at, Message.id)
    )
    for ticket_id, agent_id in session.execute(replies):
        if agent_id is not None:
            firsts.setdefault(ticket_id, agent_id)
    return [
        (firsts[ticket_id], responded - created)
        for ticket_id, created, responded in answered
        if ticket_id in firsts and responded is not None
    ]


def csat(session: Session, since: datetime) -> list[dict[str, Any]]:
    """Per queue, then all queues: requests sent, ratings received, the response rate, the
    average, the CSAT score (share of 4 and 5) and how many of each rating."""
    requests: Counter[str] = Counter()
    asked = (
        select(Queue.address)
        .select_from(Event)
        .join(Ticket, Event.ticket_id == Ticket.id)
        .join(Queue, Ticket.queue_id == Queue.id)
        .where(Event.kind == EventKind.SATISFACTION_REQUESTED, Event.at >= since)
    )
    for (queue,) in session.execute(asked):
        requests[queue] += 1
    ratings: dict[str, list[int]] = defaultdict(list)
    rated = (
        select(Queue.address, SatisfactionRating.rating)
        .join(Ticket, SatisfactionRating.ticket_id == Ticket.id)
        .join(Queue, Ticket.queue_id == Queue.id)
        .where(SatisfactionRating.rated_at >= since)
    )
    for queue, rating in session.execute(rated):
        ratings[queue].append(rating)
    queues = sorted(set(requests) | set(ratings))
    rows = [_csat_row(q, requests[q], ratings[q]) for q in queues]
    if len(queues) > 1:
        every = [r for q in queues for r in ratings[q]]
        rows.append(_csat_row("all", sum(requests.values()), every))
    return rows


def _csat_row(queue: str, requests: int, ratings: list[int]) -> dict[str, Any]:
    spread = Counter(ratings)
    satisfied = sum(1 for r in ratings if r >= SATISFIED)
    return {
        "queue": queue,
        "requests": requests,
        "ratings": len(ratings),
        "response_rate_percent": round(100 * len(ratings) / requests, 1) if requests else None,
        "average": _average(ratings),
        "csat_percent": round(100 * satisfied / len(ratings), 1) if ratings else None,
        **{f"rating_{score}": spread[score] for score in range(1, 6)},
    }


def _average(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


# --- the managers' digest -----------------------------------------------------------------

#: The digest's figures cover this many days; its chart, `CHART_DAYS` days ending today.
DIGEST_DAYS = 7
CHART_DAYS = 14
CHART_CID = "volume.chart@mailtickets"


def digest_figures(
    session: Session, since: datetime, sla_rows: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per queue address since `since`: tickets created and resolved, the share within the
    SLA (from `sla report` rows, weighed by tickets), and the CSAT."""
    figures: dict[str, dict[str, Any]] = defaultdict(empty_figures)
    for row in volume(session, since):
        figures[row["queue"]]["created"] += row["created"]
        figures[row["queue"]]["resolved"] += row["resolved"]
    tracked: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for row in sla_rows:
        if row["within_sla_percent"] is not None:
            tracked[row["queue"]].append((row["tickets"], row["within_sla_percent"]))
    for queue, parts in tracked.items():
        total = sum(n for n, _ in parts)
        figures[queue]["within_sla_percent"] = round(sum(n * p for n, p in parts) / total, 1)
    for row in csat(session, since):
        if row["queue"] != "all":
            figures[row["queue"]].update(
                ratings=row["ratings"],
                csat_average=row["average"],
                csat_percent=row["csat_percent"],
            )
    return dict(figures)


def empty_figures() -> dict[str, Any]:
    return {
        "created": 0,
        "resolved": 0,
        "within_sla_percent": None,
        "ratings": 0,
        "csat_average": None,
        "csat_percent": None,
    }


def volume_chart(session: Session, now: datetime) -> dict[str, Any]:
    """Tickets created and resolved each day of the last `CHART_DAYS`, all queues together,
    as a chart for the mail (see outbound.charts)."""
    first = now.date() - timedelta(days=CHART_DAYS - 1)
    days = [first + timedelta(days=n) for n in range(CHART_DAYS)]
    start = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    created: Counter[str] = Counter()
    resolved: Counter[str] = Counter()
    for row in volume(session, start):
        created[row["date"]] += row["created"]
        resolved[row["date"]] += row["resolved"]
    return {
        "cid": CHART_CID,
        "labels": [f"{day:%m-%d}" for day in days],
        "series": {
            "created": [created[day.isoformat()] for day in days],
            "resolved": [resolved[day.isoformat()] for day in days],
        },
    }
