"""Warnings and breaches sent once each, when they are due.

A `SlaNotification` row, unique per (ticket, kind, due time), is written in the same
transaction as the mail, so a restart or a second instance cannot send it again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from mailtickets.db.models import EventKind, SlaNotification, Ticket
from mailtickets.outbox.context import ticket_contexts
from mailtickets.outbox.notices import NoticeBatch
from mailtickets.services.sla.clocks import history_of, next_check, refresh_from
from mailtickets.services.sla.policy import SlaConfig
from mailtickets.services.tickets import record
from mailtickets.sla.calendar import ALWAYS_OPEN
from mailtickets.sla.deadlines import humanize, remaining

log = logging.getLogger(__name__)


SWEEP_BATCH = 200


def sweep(sessions: sessionmaker[Session], config: SlaConfig, now: datetime) -> int:
    """Send the warnings and breaches that are due; return how many were sent.

    The batch is read in about twenty statements whatever its size (the tickets with their
    queue, customer and assignee, their histories, then what the notices say and whom they
    go to), and what it writes is flushed together at the commit.
    """
    sent = 0
    with sessions.begin() as session, session.no_autoflush:
        query = (
            select(Ticket)
            .where(Ticket.sla_check_at <= now)
            .order_by(Ticket.sla_check_at)
            .limit(SWEEP_BATCH)
            .with_for_update(skip_locked=True)
            .options(
                selectinload(Ticket.queue),
                selectinload(Ticket.contact),
                selectinload(Ticket.assignee),
            )
        )
        tickets = session.scalars(query).all()
        if not tickets:  # the usual case: nothing more to read
            return 0
        history = history_of(session, [ticket.id for ticket in tickets])
        plans = []
        keys: list[dict[str, Any]] = []  # the SlaNotification rows, inserted together
        for ticket in tickets:
            due = refresh_from(history, ticket, config, now)
            notices = history.sent.setdefault(ticket.id, set())
            due_now = []
            for kind, due_at, warning in due.running() if due else ():
                if now >= due_at:
                    # Past due: a warning now would only be noise, so it is settled silently.
                    _once(keys, notices, ticket, f"{kind}_warning", due_at, now)
                    due_now.append((kind, due_at, True))
                elif now >= warning:
                    due_now.append((kind, due_at, False))
            plans.append((ticket, due, notices, due_now))
        # What the notices say and whom they go to is read once for every ticket told of.
        told_of = [ticket for ticket, _, _, due_now in plans if due_now]
        contexts = ticket_contexts(session, told_of, config.subject_prefix) if told_of else {}
        batch = NoticeBatch(session, told_of) if told_of else None
        for ticket, due, notices, due_now in plans:
            for kind, due_at, breach in due_now:
                assert batch is not None, "made for every ticket with notices due"
                context = contexts[ticket.id]
                sent += _notify(
                    session,
                    keys,
                    batch,
                    notices,
                    ticket,
                    context,
                    config,
                    kind,
                    due_at,
                    now,
                    breach=breach,
                )
            if due is not None:
                ticket.sla_check_at = None if due.paused else next_check(notices, due)
        if keys:
            # One statement; as ORM objects each row was an INSERT … RETURNING of its own.
            session.execute(insert(SlaNotification), keys)
        if batch is not None:
            batch.write(session)
    return sent


def _once(
    keys: list[dict[str, Any]],
    notices: set[tuple[str, datetime]],
    ticket: Ticket,
    kind: str,
    due_at: datetime,
    now: datetime,
) -> bool:
    """Record (ticket, kind, due) as sent; False when it already was.

    The ticket's row is locked (PostgreSQL) or the database is (SQLite) since its notices were
    read, so no other sweep adds one meanwhile; the unique key stays the last word.
    """
    if (kind, due_at) in notices:
        return False
    notices.add((kind, due_at))
    keys.append({"ticket_id": ticket.id, "kind": kind, "due_at": due_at, "sent_at": now})
    return True


def _notify(
    session: Session,
    keys: list[dict[str, Any]],
    batch: NoticeBatch,
    notices: set[tuple[str, datetime]],
    ticket: Ticket,
    context: dict[str, Any],
    config: SlaConfig,
    kind: str,
    due_at: datetime,
    now: datetime,
    *,
    breach: bool,
) -> int:
    notice = f"{kind}_{'breach' if breach else 'warning'}"
    if not _once(keys, notices, ticket, notice, due_at, now):
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
    # A warning goes to whoever can still answer; a breach is escalated to the managers.
    managers = tuple(a for a in config.agents if a.role == "manager")
    count = batch.notify(
        ticket,
        "agent/sla_breached" if breach else "agent/sla_warning",
        context | {"sla": sla},
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
