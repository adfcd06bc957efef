"""Prometheus metrics, in a registry the app owns (no process-wide global).

Counters count events in this process; gauges that describe the database (outbox depth,
open tickets) are read from it at each scrape, so every instance reports the same truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.db.models import OutboundMessage, OutboundStatus, Queue, Ticket

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter(
            "mailtickets_messages_received", "Messages accepted", ["source"], registry=r
        )
        self.duplicates = Counter(
            "mailtickets_messages_duplicate", "Deliveries already stored", ["source"], registry=r
        )
        self.processed = Counter(
            "mailtickets_messages_processed", "Messages processed", ["outcome"], registry=r
        )
        self.quarantined = Counter(
            "mailtickets_messages_quarantined", "Messages quarantined", registry=r
        )
        self.latency = Histogram(
            "mailtickets_processing_seconds",
            "From acceptance to processed",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.sent = Counter("mailtickets_outbox_sent", "Outgoing messages sent", registry=r)
        self.send_failures = Counter(
            "mailtickets_outbox_failures", "Delivery attempts that failed", ["kind"], registry=r
        )
        self.imap_last_success = Gauge(
            "mailtickets_imap_last_success_timestamp",
            "When each mailbox was last read without error",
            ["mailbox"],
            registry=r,
        )
        self.sla_events = Counter(
            "mailtickets_sla_notifications", "SLA warnings and breaches", ["kind"], registry=r
        )
        r.register(_DatabaseCollector(sessions))

    def observe_processed(self, outcome: str, received_at: datetime, now: datetime) -> None:
        self.processed.labels(outcome).inc()
        if outcome == "quarantined":
            self.quarantined.inc()
        self.latency.observe(max((now - received_at).total_seconds(), 0.0))


class _DatabaseCollector(Collector):
    """Outbox depth and open tickets, read at scrape time."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "mailtickets_outbox_messages", "Outgoing messages by status", labels=["status"]
        )
        tickets = GaugeMetricFamily(
            "mailtickets_tickets", "Tickets by queue and status", labels=["queue", "status"]
        )
        with self._sessions() as session:
            for outbound_status, count in session.execute(
                select(OutboundMessage.status, func.count())
                .where(OutboundMessage.status != OutboundStatus.SENT)
                .group_by(OutboundMessage.status)
            ):
                depth.add_metric([outbound_status.value], count)
            for queue, ticket_status, count in session.execute(
                select(Queue.address, Ticket.status, func.count())
                .join(Queue, Ticket.queue_id == Queue.id)
                .group_by(Queue.address, Ticket.status)
            ):
                tickets.add_metric([queue, ticket_status.value], count)
        yield depth
        yield tickets
