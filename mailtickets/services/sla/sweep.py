"""Warnings and breaches sent once each, when they are due.

A `SlaNotification` row, unique per (ticket, kind, due time), is written in the same
transaction as the mail, so a restart or a second instance cannot send it again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.db.models import EventKind, SlaNotification, Ticket
from mailtickets.outbox.context import ticket_context
from mailtickets.outbox.notices import notify_agents
from mailtickets.services.sla.clocks import next_check, refresh
from mailtickets.services.sla.policy import SlaConfig
from mailtickets.services.tickets import record
from mailtickets.sla.calendar import ALWAYS_OPEN
from mailtickets.sla.deadlines import humanize, remaining

log = logging.getLogger(__name__)


SWEEP_BATCH = 200


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
                ticket.sla_check_at = None if due.paused else next_check(session, ticket, due)
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
        EventKind.SLA_BREACHED if breach else EventKind.SLA_WARNING,
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
