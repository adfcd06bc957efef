"""The managers' daily digest: the state of each queue, the week's figures and a chart."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.config.settings import QueueSettings
from mailtickets.db.models import Queue, Ticket, TicketStatus
from mailtickets.outbox.enqueue import enqueue
from mailtickets.services import reports
from mailtickets.services.sla.policy import SlaConfig
from mailtickets.services.sla.report import report


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
