"""On call: outside business hours, and for urgent tickets, the agent on call takes over.

A new ticket of a queue with `on_call = "<rota>"` that arrives while the queue's business
calendar is closed (or that is urgent) is assigned to the rota's agent on call, with an
`OnCallPage` that says by when they must act. The escalation sweep settles each page once:
silently when the agent acted on the ticket in time (any change or message of theirs), or the
ticket no longer waits on them; otherwise the next agent of the rota and the queue's managers
are told, in the same transaction that settles the page.

The queue's business hours are those of its SLA's calendar, else the rota's own calendar.
The customer's acknowledgement says what to expect (`expectation`): the agent on call now,
or when the team opens again, in the customer's language.
"""

from __future__ import annotations

import logging
from datetime import datetime

from babel.dates import format_date, format_time
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.config.settings import RotaSettings
from mailtickets.db.models import (
    Agent,
    Event,
    EventKind,
    OnCallPage,
    Priority,
    Ticket,
    TicketStatus,
)
from mailtickets.mail.addresses import normalise
from mailtickets.outbox.context import ticket_context
from mailtickets.outbox.notices import notify_agents
from mailtickets.services.sla.policy import SlaConfig
from mailtickets.services.tickets import assign, record
from mailtickets.sla.calendar import ALWAYS_OPEN, Calendar, is_open, next_opening
from mailtickets.sla.deadlines import humanize
from mailtickets.sla.rota import Rota, after, on_call

log = logging.getLogger(__name__)

#: Pages settled per sweep transaction; the next sweep takes the rest.
ESCALATION_BATCH = 200


def rota_of(config: SlaConfig, ticket: Ticket) -> RotaSettings | None:
    """The rota of the ticket's queue, when the queue has one."""
    queue = next((q for q in config.queues if normalise(q.address) == ticket.queue.address), None)
    if queue is None or queue.on_call is None:
        return None
    return next((r for r in config.rotas if r.rota.name == queue.on_call), None)


def business_hours(config: SlaConfig, ticket: Ticket) -> Calendar:
    """When the ticket's queue is staffed: its SLA's calendar, else its rota's, else always."""
    policy = config.policy(ticket)
    if policy is not None and policy.calendar is not ALWAYS_OPEN:
        return policy.calendar
    rota = rota_of(config, ticket)
    return config.calendars.get(rota.calendar, ALWAYS_OPEN) if rota else ALWAYS_OPEN


def page(session: Session, ticket: Ticket, config: SlaConfig, now: datetime) -> Agent | None:
    """Assign a new, unassigned ticket to the agent on call when it needs one; return them."""
    entry = rota_of(config, ticket)
    if entry is None or ticket.assignee is not None:
        return None
    urgent = ticket.priority is Priority.URGENT
    if not urgent and is_open(business_hours(config, ticket), now):
        return None
    agent = _reachable(session, entry.rota, on_call(entry.rota, now), now)
    if agent is None:
        log.warning("ticket #%s: rota %r has nobody on call", ticket.id, entry.rota.name)
        return None
    ack_due = now + entry.rota.ack_within
    assign(session, ticket, agent, now, None)
    session.add(
        OnCallPage(
            ticket_id=ticket.id, rota=entry.rota.name, agent=agent, paged_at=now, ack_due=ack_due
        )
    )
    record(
        session,
        ticket,
        EventKind.ON_CALL,
        now,
        None,
        rota=entry.rota.name,
        agent=agent.address,
        ack_due=ack_due.isoformat(),
        why="urgent" if urgent else "outside business hours",
    )
    return agent


def _reachable(session: Session, rota: Rota, address: str | None, now: datetime) -> Agent | None:
    """The agent on call, or while they are away the next of the rota who is not."""
    tried: set[str] = set()
    while address is not None and address not in tried:
        tried.add(address)
        query = select(Agent).where(Agent.address == address, Agent.active.is_(True))
        agent = session.scalar(query)
        if agent is not None and not agent.away_at(now):
            return agent
        address = after(rota, address)
    return None


def expectation(
    session: Session, ticket: Ticket, config: SlaConfig, now: datetime, locale: str
) -> dict[str, str | None] | None:
    """What the customer may expect, for the acknowledgement: `on_call` (the name of the agent
    on call who has the ticket) and `opens_at` (when the team is back, in the customer's
    language and the team's zone); None when the team is at work now and nobody was paged."""
    # Only a queue with a rota pages anyone (`page`): elsewhere there is no page to read.
    paged = None
    if rota_of(config, ticket) is not None:
        paged = session.scalar(
            select(OnCallPage)
            .where(OnCallPage.ticket_id == ticket.id)
            .order_by(OnCallPage.id.desc())
        )
    hours = business_hours(config, ticket)
    opens_at = None
    if hours.ever_open and not is_open(hours, now):
        opens_at = _when(next_opening(hours, now), hours, locale)
    if paged is None and opens_at is None:
        return None
    return {"on_call": paged.agent.name if paged else None, "opens_at": opens_at}


def escalate(sessions: sessionmaker[Session], config: SlaConfig, now: datetime) -> int:
    """Settle the pages whose time has come; return how many were escalated."""
    escalated = 0
    with sessions.begin() as session:
        query = (
            select(OnCallPage)
            .where(OnCallPage.settled_at.is_(None), OnCallPage.ack_due <= now)
            .order_by(OnCallPage.ack_due)
            .limit(ESCALATION_BATCH)
            .with_for_update(skip_locked=True)
        )
        for paged in session.scalars(query).all():
            paged.settled_at = now
            ticket = session.get(Ticket, paged.ticket_id)
            if ticket is None or not _waits_on(session, ticket, paged):
                continue
            escalated += _escalate(session, ticket, paged, config, now)
    return escalated


def _waits_on(session: Session, ticket: Ticket, paged: OnCallPage) -> bool:
    """Whether the ticket still waits on the paged agent: open, theirs, and untouched by them."""
    if ticket.status is not TicketStatus.OPEN or ticket.assignee_id != paged.agent_id:
        return False
    acted = session.scalar(
        select(Event.id)
        .where(
            Event.ticket_id == ticket.id,
            Event.actor == paged.agent.address,
            Event.at >= paged.paged_at,
        )
        .limit(1)
    )
    return acted is None


def _escalate(
    session: Session, ticket: Ticket, paged: OnCallPage, config: SlaConfig, now: datetime
) -> int:
    entry = next((r for r in config.rotas if r.rota.name == paged.rota), None)
    following = after(entry.rota, paged.agent.address) if entry else None
    told = tuple(
        a
        for a in config.agents
        if a.role == "manager" or (following and normalise(a.address) == following)
    )
    record(
        session,
        ticket,
        EventKind.ON_CALL_ESCALATED,
        now,
        None,
        rota=paged.rota,
        agent=paged.agent.address,
        told=[normalise(a.address) for a in told],
    )
    if not told:
        log.warning("ticket #%s: nobody to tell that the agent on call did not act", ticket.id)
        return 0
    hours = business_hours(config, ticket)
    context = ticket_context(
        session,
        ticket,
        config.subject_prefix,
        on_call={
            "agent": _named(paged.agent),
            "rota": paged.rota,
            "paged_at": f"{paged.paged_at.astimezone(hours.zone):%Y-%m-%d %H:%M %Z}",
            "waited": humanize(now - paged.paged_at),
        },
    )
    notify_agents(
        session,
        ticket,
        "agent/on_call_escalated",
        context,
        queues=config.queues,
        agents=told,
        secret=config.secret,
        now=now,
        exclude=paged.agent.address,
        to_assignee=False,
        with_history=True,
    )
    log.info("ticket #%s: %s on call did not act in time", ticket.id, paged.agent.address)
    return 1


def _named(agent: Agent) -> str:
    return f"{agent.name} <{agent.address}>" if agent.name else agent.address


def _when(moment: datetime, calendar: Calendar, locale: str) -> str:
    """ "Monday, December 7, 2026, 9:00 AM (America/Sao_Paulo)", in `locale`'s words."""
    local = moment.astimezone(calendar.zone)
    day = format_date(local.date(), format="full", locale=locale)
    clock = format_time(local.time(), format="short", locale=locale)
    return f"{day}, {clock} ({calendar.zone.key})"
