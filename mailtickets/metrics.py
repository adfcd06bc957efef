"""Prometheus metrics, in a registry the app owns (no process-wide global).

Counters count events in this process; gauges that describe the database (outbox depth,
open tickets) are read from it at each scrape, so every instance reports the same truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.db.models import (
    OutboundMessage,
    OutboundStatus,
    Queue,
    SlaNotification,
    Ticket,
    WebhookDelivery,
    WebhookStatus,
)
from mailtickets.oauth2 import TokenSource
from mailtickets.outcomes import Outcome

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
        self.relay_refusals = Counter(
            "mailtickets_outbox_relay_refusals",
            "Delivery attempts the relay refused for reasons of its own (policy, relaying, "
            "authentication): the mail is held, nobody is suppressed",
            registry=r,
        )
        self.webhook_posts = Counter(
            "mailtickets_webhook_posts",
            "Webhook delivery attempts, by receiver and result (sent, temporary, refused)",
            ["receiver", "result"],
            registry=r,
        )
        r.register(_DatabaseCollector(sessions))

    def watch_mailboxes(
        self, mailboxes: Iterable[tuple[str, Callable[[], datetime | None]]]
    ) -> None:
        """Report, at each scrape, when each mailbox was last read without error."""
        self.registry.register(_MailboxCollector(list(mailboxes)))

    def watch_tokens(self, tokens: Iterable[TokenSource]) -> None:
        """Report, at each scrape, failed OAuth2 token requests and each token's expiry."""
        self.registry.register(_TokenCollector(list(tokens)))

    def watch_webhooks(self, receivers: Iterable[str], is_down: Callable[[str], bool]) -> None:
        """Report, at each scrape, whether each webhook receiver is up (not failing)."""
        self.registry.register(_WebhookCollector(list(receivers), is_down))

    def observe_processed(self, outcome: str, received_at: datetime, now: datetime) -> None:
        self.processed.labels(outcome).inc()
        if outcome == Outcome.QUARANTINED:
            self.quarantined.inc()
        self.latency.observe(max((now - received_at).total_seconds(), 0.0))


class _DatabaseCollector(Collector):
    """Outbox depth and open tickets, read at scrape time."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        depth = GaugeMetricFamily(
            "mailtickets_outbox_messages", "Outgoing messages by status", labels=["status"]
        )
        tickets = GaugeMetricFamily(
            "mailtickets_tickets", "Tickets by queue and status", labels=["queue", "status"]
        )
        # From the table that guarantees each notice once: the same count on every instance.
        sla = CounterMetricFamily(
            "mailtickets_sla_notifications",
            "SLA warnings and breaches sent, by clock and kind",
            labels=["kind"],
        )
        webhooks = GaugeMetricFamily(
            "mailtickets_webhook_deliveries",
            "Webhook events not yet delivered, by receiver and status",
            labels=["receiver", "status"],
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
            for kind, count in session.execute(
                select(SlaNotification.kind, func.count()).group_by(SlaNotification.kind)
            ).all():
                sla.add_metric([kind], count)
            for receiver, webhook_status, count in session.execute(
                select(WebhookDelivery.receiver, WebhookDelivery.status, func.count())
                .where(WebhookDelivery.status != WebhookStatus.SENT)
                .group_by(WebhookDelivery.receiver, WebhookDelivery.status)
            ):
                webhooks.add_metric([receiver, webhook_status.value], count)
        yield depth
        yield tickets
        yield sla
        yield webhooks


class _MailboxCollector(Collector):
    def __init__(self, mailboxes: list[tuple[str, Callable[[], datetime | None]]]) -> None:
        self._mailboxes = mailboxes

    def collect(self) -> Iterator[GaugeMetricFamily]:
        last = GaugeMetricFamily(
            "mailtickets_imap_last_success_timestamp",
            "When each mailbox was last read without error (Unix time)",
            labels=["mailbox"],
        )
        for name, last_success in self._mailboxes:
            when = last_success()
            if when is not None:
                last.add_metric([name], when.timestamp())
        yield last


class _WebhookCollector(Collector):
    def __init__(self, receivers: list[str], is_down: Callable[[str], bool]) -> None:
        self._receivers, self._is_down = receivers, is_down

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "mailtickets_webhook_receiver_up",
            "1 while a webhook receiver takes events, 0 once it keeps failing",
            labels=["receiver"],
        )
        for name in self._receivers:
            up.add_metric([name], 0 if self._is_down(name) else 1)
        yield up


class _TokenCollector(Collector):
    def __init__(self, tokens: list[TokenSource]) -> None:
        self._tokens = tokens

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        failures = CounterMetricFamily(
            "mailtickets_oauth2_refresh_failures",
            "Requests to a token endpoint that gave no token, by token",
            labels=["token"],
        )
        expiry = GaugeMetricFamily(
            "mailtickets_oauth2_token_expiry_timestamp",
            "When the access token in hand expires (Unix time), by token",
            labels=["token"],
        )
        for source in self._tokens:
            failures.add_metric([source.key], source.refresh_failures)
            valid_until = source.state().valid_until
            if valid_until is not None:
                expiry.add_metric([source.key], valid_until.timestamp())
        yield failures
        yield expiry
