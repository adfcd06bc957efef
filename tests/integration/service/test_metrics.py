"""Metrics read from the truth at scrape time: SLA notices from their table, mailboxes'
last good read from their pollers."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mailtickets.db.models import SlaNotification, Ticket
from mailtickets.metrics import Metrics
from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_sla_notices_and_mailbox_reads_are_exported(helpdesk: Helpdesk) -> None:
    ticket_id = helpdesk.deliver(compose()).ticket_id
    with helpdesk.app.sessions.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        for kind in ("first_response_warning", "first_response_breach"):
            session.add(
                SlaNotification(
                    ticket_id=ticket.id,
                    kind=kind,
                    due_at=ticket.created_at,
                    sent_at=ticket.created_at,
                )
            )
    metrics = Metrics(helpdesk.app.sessions)
    read_at = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    metrics.watch_mailboxes([("support", lambda: read_at), ("sales", lambda: None)])
    samples = _samples(metrics)
    assert (
        samples[("mailtickets_sla_notifications_total", (("kind", "first_response_breach"),))] == 1
    )
    assert (
        samples[("mailtickets_sla_notifications_total", (("kind", "first_response_warning"),))] == 1
    )
    assert samples[("mailtickets_imap_last_success_timestamp", (("mailbox", "support"),))] == (
        read_at.timestamp()
    )
    assert ("mailtickets_imap_last_success_timestamp", (("mailbox", "sales"),)) not in samples
    assert samples[("mailtickets_outbox_messages", (("status", "pending"),))] == 2
