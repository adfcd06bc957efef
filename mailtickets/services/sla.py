"""Response-time SLAs on tickets: due times kept current, warnings and breaches sent once.

`refresh` recomputes a ticket's due times from its history after every change and stores
the next moment it needs attention in `sla_check_at`; `sweep` reads only tickets whose moment
has come (an index range, whatever the number of open tickets) and sends each warning and
breach once: a `SlaNotification` row, unique per (ticket, kind, due time), is written in the
same transaction as the mail, so a restart or a second instance cannot send it again.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.config import Settings
from mailtickets.config.settings import AgentSettings, QueueSettings, SlaSettings
from mailtickets.db.models import (
    Event,
    Message,
    MessageKind,
    Queue,
    SlaNotification,
    Ticket,
    TicketStatus,
)
from mailtickets.outbound.context import ticket_context
from mailtickets.outbound.notices import notify_agents
from mailtickets.outbound.outbox import enqueue
from mailtickets.services import reports
from mailtickets.services.tickets import record, set_status
from mailtickets.sla.calendar import ALWAYS_OPEN, Calendar, business_time_between
from mailtickets.sla.deadlines import Due, Policy, Span, compute_due, humanize, remaining

log = logging.getLogger(__name__)

SWEEP_BATCH = 200
_LABELS = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}


@dataclass(frozen=True)
class SlaConfig:
    """What SLAs need from the settings, with calendars built."""

    subject_prefix: str
    secret: bytes
    queues: tuple[QueueSettings, ...]
    agents: tuple[AgentSettings, ...]
    slas: tuple[SlaSettings, ...]
    calendars: dict[str, Calendar]

    @classmethod
    def from_settings(cls, settings: Settings, secret: bytes) -> SlaConfig:
        return cls(
            settings.tickets.subject_prefix,
            secret,
            settings.queues,
            settings.agents,
            settings.slas,
            {c.name: c.calendar for c in settings.calendars},
        )

    def policy(self, ticket: Ticket) -> Policy | None:
        """The policy of the ticket's queue, with its priority's budgets; None: untracked."""
        queue = next((q for q in self.queues if q.address.lower() == ticket.queue.address), None)
        sla = next((p for p in self.slas if queue and p.name == queue.sla), None)
        if sla is None:
            return None
        times = sla.priorities.get(ticket.priority.value, sla.times)
        return Policy(
            sla.name,
            self.calendars.get(sla.calendar, ALWAYS_OPEN),
            times.first_response,
            times.next_response,
            times.resolution,
            sla.warn_at,
        )


def due_of(session: Session, ticket: Ticket, policy: Policy, now: datetime) -> Due:
    """The ticket's due times from its messages and status history."""
    # Reads only: flushing the ticket's pending changes first would cost a write each time.
    with session.no_autoflush:
        return _due_of(session, ticket, policy, now)


def _due_of(session: Session, ticket: Ticket, policy: Policy, now: datetime) -> Due:
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
        .where(Event.ticket_id == ticket.id, Event.kind.in_(("status", "reopened")))
        .order_by(Event.id)
    )
    for event in events:
        pending = event.kind == "status" and event.data.get("status") == "pending"
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
    ticket.sla_check_at = None if paused else _next_check(session, ticket, due)
    return due


def _sent(session: Session, ticket: Ticket) -> set[tuple[str, datetime]]:
    rows = session.execute(
        select(SlaNotification.kind, SlaNotification.due_at).where(
            SlaNotification.ticket_id == ticket.id
        )
    )
    return {(kind, due) for kind, due in rows}


def _next_check(session: Session, ticket: Ticket, due: Due) -> datetime | None:
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


def sweep(sessions: sessionmaker[Session], config: SlaConfig, now: datetime) -> int:
    """Send the warnings and breaches that are due; return how many were sent."""
    sent = 0
    with sessions.begin() as session:
        query = (
            select(Ticket)
            .where(Ticket.sla_check_at <= now)
            .order_by(Ticket.sla_check_at)
            .limit(SWEEP_BATCH)
            .with_for_update(skip_locked=True)
        )
        for ticket in session.scalars(query).all():
            due = refresh(session, ticket, config, now)
            for kind, due_at, warning in due.running() if due else ():
                if now >= due_at:
                    # Past due: a warning now would only be noise, so it is settled silently.
                    _once(session, ticket, f"{kind}_warning", due_at, now)
                    sent += _notify(session, ticket, config, kind, due_at, now, breach=True)
                elif now >= warning:
                    sent += _notify(session, ticket, config, kind, due_at, now, breach=False)
            if due is not None:
                ticket.sla_check_at = None if due.paused else _next_check(session, ticket, due)
    return sent


def _once(session: Session, ticket: Ticket, kind: str, due_at: datetime, now: datetime) -> bool:
    """Record (ticket, kind, due) as sent; False when it already was, here or elsewhere."""
    try:
        with session.begin_nested():
            session.add(SlaNotification(ticket_id=ticket.id, kind=kind, due_at=due_at, sent_at=now))
    except IntegrityError:
        return False
    return True


def _notify(
    session: Session,
    ticket: Ticket,
    config: SlaConfig,
    kind: str,
    due_at: datetime,
    now: datetime,
    *,
    breach: bool,
) -> int:
    if not _once(session, ticket, f"{kind}_{'breach' if breach else 'warning'}", due_at, now):
        return 0
    policy = config.policy(ticket)
    calendar = policy.calendar if policy else ALWAYS_OPEN
    sla = {
        "kind": kind,  # the templates word it in their language
        "due": f"{due_at.astimezone(calendar.zone):%Y-%m-%d %H:%M %Z}",
        "remaining": humanize(remaining(calendar, now, due_at)),
    }
    record(
        session,
        ticket,
        "sla_breached" if breach else "sla_warning",
        now,
        None,
        clock=kind,
        due=due_at.isoformat(),
    )
    context = ticket_context(session, ticket, config.subject_prefix, sla=sla)
    # A warning goes to whoever can still answer; a breach is escalated to the managers.
    managers = tuple(a for a in config.agents if a.role == "manager")
    count = notify_agents(
        session,
        ticket,
        "agent/sla_breached" if breach else "agent/sla_warning",
        context,
        queues=config.queues,
        agents=managers if breach and managers else config.agents,
        secret=config.secret,
        now=now,
        to_assignee=not breach,
    )
    log.info(
        "ticket #%s: SLA %s %s, %s agent(s) told",
        ticket.id,
        kind,
        "breached" if breach else "warning",
        count,
    )
    return 1


def auto_close(
    sessions: sessionmaker[Session], config: SlaConfig, after: timedelta, now: datetime
) -> int:
    """Close resolved and pending tickets silent for `after`, telling the customer once."""
    closed = 0
    with sessions.begin() as session:
        query = (
            select(Ticket)
            .where(
                Ticket.status.in_((TicketStatus.RESOLVED, TicketStatus.PENDING)),
                Ticket.updated_at <= now - after,
            )
            .order_by(Ticket.updated_at)
            .limit(SWEEP_BATCH)
            .with_for_update(skip_locked=True)
        )
        for ticket in session.scalars(query).all():
            set_status(session, ticket, TicketStatus.CLOSED, now, None)
            record(session, ticket, "auto_closed", now, None, silent_for=str(after))
            context = ticket_context(
                session, ticket, config.subject_prefix, auto_close_after=humanize(after)
            )
            enqueue(
                session,
                template="customer/auto_closed",
                locale=ticket.contact.locale or ticket.queue.locale,
                recipients=[ticket.contact.address],
                ticket=ticket,
                context=context,
                now=now,
                secret=config.secret,
            )
            refresh(session, ticket, config, now)
            closed += 1
    return closed


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
            .where(Event.kind == "sla_breached")
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


def digest(
    sessions: sessionmaker[Session], config: SlaConfig, now: datetime, locale: str = "en"
) -> int:
    """Mail each manager the day's state of the queues, the last week's volume, SLA
    compliance and CSAT, and a chart of the daily volume; return how many were queued."""
    managers = [a for a in config.agents if a.role == "manager"]
    if not managers:
        return 0
    with sessions.begin() as session:
        since = now - timedelta(days=reports.DIGEST_DAYS)
        figures = reports.digest_figures(session, since, report(session, config, since, now))
        rows = [
            _digest_row(session, queue, now)
            | {"week": figures.get(queue.address.lower(), reports.empty_figures())}
            for queue in config.queues
        ]
        context = {
            "digest": {"date": f"{now:%Y-%m-%d}", "since": f"{since:%Y-%m-%d}", "queues": rows},
            "charts": {"volume": reports.volume_chart(session, now)},
            "queue": {"name": config.queues[0].name, "address": config.queues[0].address},
            "ticket": {"tag": ""},
        }
        for manager in managers:
            enqueue(
                session,
                template="agent/daily_digest",
                locale=config.queues[0].locale or locale,
                recipients=[manager.address],
                ticket=None,
                context=context | {"agent": {"name": manager.name, "signature": ""}},
                now=now,
                secret=config.secret,
                domain=config.queues[0].address.partition("@")[2],
            )
    return len(managers)


def _digest_row(session: Session, queue: QueueSettings, now: datetime) -> dict[str, Any]:
    queue_id = select(Queue.id).where(Queue.address == queue.address.lower()).scalar_subquery()

    def count(condition: ColumnElement[bool]) -> int:
        query = select(func.count(Ticket.id)).where(Ticket.queue_id == queue_id, condition)
        return int(session.scalar(query) or 0)

    def due_before(moment: datetime) -> ColumnElement[bool]:
        return or_(
            Ticket.first_response_due <= moment,
            Ticket.next_response_due <= moment,
            Ticket.resolution_due <= moment,
        )

    return {
        "name": queue.name,
        "address": queue.address,
        "open": count(Ticket.status == TicketStatus.OPEN),
        "pending": count(Ticket.status == TicketStatus.PENDING),
        "due_today": count(due_before(now + timedelta(days=1))),
        "breached": count(due_before(now)),
    }
