"""Closing resolved and pending tickets that have been silent long enough.

A ticket imported as history and untouched since is closed without a word: its customer
heard the last of it long ago.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.db.models import EventKind, Ticket, TicketStatus
from mailtickets.outbox.context import ticket_context
from mailtickets.outbox.enqueue import enqueue
from mailtickets.services.sla.policy import SlaConfig
from mailtickets.services.sla.sweep import SWEEP_BATCH
from mailtickets.services.tickets import record, set_status
from mailtickets.sla.deadlines import humanize


def auto_close(
    sessions: sessionmaker[Session], config: SlaConfig, after: timedelta, now: datetime
) -> int:
    """Close resolved and pending tickets silent for `after`, telling the customer once;
    return how many were told."""
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
            history = ticket.imported_at is not None and ticket.updated_at <= ticket.imported_at
            set_status(session, ticket, TicketStatus.CLOSED, now, None, sla=config)
            record(session, ticket, EventKind.AUTO_CLOSED, now, None, silent_for=str(after))
            if history:
                continue
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
            closed += 1
    return closed
