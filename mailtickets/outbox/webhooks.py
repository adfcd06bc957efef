"""Ticket events into the webhook outbox, in the transaction that causes them.

`services.tickets.record` hands every event here; those receivers want become one
`WebhookDelivery` row each, under one event id, committed (or rolled back) with the change
itself. The receivers travel with the sessions (`subscribe`, done by the app on the
sessions it makes): a session made without them writes nothing, so a site without
`[[webhook]]` pays nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from mailtickets.config.settings import WebhookSettings
from mailtickets.db.models import Event, EventKind, Ticket, WebhookDelivery, WebhookStatus

#: The key of `Session.info` under which the receivers travel.
RECEIVERS = "mailtickets.webhook_receivers"

#: The ticket events receivers hear about, under the names they hear them by; the others
#: (acknowledgements, routing, refusals) are bookkeeping of our own.
TYPES: dict[str, str] = {
    EventKind.CREATED: "ticket.created",
    EventKind.MESSAGE_CUSTOMER: "ticket.replied",
    EventKind.MESSAGE_AGENT: "ticket.replied",
    EventKind.MESSAGE_NOTE: "ticket.note_added",
    EventKind.STATUS: "ticket.status_changed",
    EventKind.REOPENED: "ticket.status_changed",
    EventKind.PRIORITY: "ticket.priority_changed",
    EventKind.ASSIGNED: "ticket.assigned",
    EventKind.TAGGED: "ticket.tagged",
    EventKind.MERGED: "ticket.merged",
    EventKind.DELIVERY_FAILED: "ticket.delivery_failed",
    EventKind.SLA_WARNING: "sla.warning",
    EventKind.SLA_BREACHED: "sla.breached",
    EventKind.SATISFACTION_RATED: "satisfaction.rated",
    EventKind.SATISFACTION_CHANGED: "satisfaction.rated",
}

#: What an event adds to the data it recorded, so that a receiver need not know our kinds.
_EXTRA: dict[str, dict[str, Any]] = {
    EventKind.MESSAGE_CUSTOMER: {"by": "customer"},
    EventKind.MESSAGE_AGENT: {"by": "agent"},
    EventKind.REOPENED: {"status": "open"},
    EventKind.SATISFACTION_RATED: {"changed": False},
    EventKind.SATISFACTION_CHANGED: {"changed": True},
}


@dataclass(frozen=True)
class Receiver:
    name: str
    events: frozenset[str]
    #: Queue addresses; empty: every queue.
    queues: frozenset[str]

    def wants(self, event_type: str, queue: str) -> bool:
        return event_type in self.events and (not self.queues or queue in self.queues)


def subscribe(sessions: sessionmaker[Session], webhooks: Iterable[WebhookSettings]) -> None:
    """Make every session `sessions` opens from now on capture events for `webhooks`."""
    receivers = tuple(Receiver(h.name, h.events, h.queues) for h in webhooks)
    if receivers:
        sessions.configure(info={RECEIVERS: receivers})


@contextmanager
def muted(session: Session, *, when: bool) -> Iterator[None]:
    """Capture nothing in `session` meanwhile, `when` asked: for mail imported as history,
    which happened long ago and tells nobody."""
    receivers = session.info.pop(RECEIVERS, None) if when else None
    try:
        yield
    finally:
        if receivers is not None:
            session.info[RECEIVERS] = receivers


def capture(session: Session, ticket: Ticket, event: Event) -> None:
    """Queue `event` of `ticket` for each receiver that wants it, in `session`'s transaction."""
    receivers: tuple[Receiver, ...] = session.info.get(RECEIVERS, ())
    event_type = TYPES.get(event.kind)
    if not receivers or event_type is None:
        return
    if event_type == "ticket.replied" and event.at == ticket.created_at:
        return  # the mail that opened the ticket: `ticket.created` is about it
    # The queue is read only when a receiver asks for some queues: no load, no autoflush,
    # in the caller's transaction otherwise.
    queue = ticket.queue.address.lower() if any(r.queues for r in receivers) else ""
    wanted = [r for r in receivers if r.wants(event_type, queue)]
    if not wanted:
        return
    event_id = str(uuid.uuid4())
    data = {"actor": event.actor, **event.data, **_EXTRA.get(event.kind, {})}
    session.add_all(
        WebhookDelivery(
            event_id=event_id,
            receiver=receiver.name,
            type=event_type,
            ticket_id=ticket.id,
            data=data,
            created_at=event.at,
            status=WebhookStatus.PENDING,
            attempts=0,
            next_attempt_at=event.at,
        )
        for receiver in wanted
    )
