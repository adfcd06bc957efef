"""Erasing a person erases the webhook events about them, posted or waiting: a waiting one
would carry their words out after the erasure."""

from __future__ import annotations

from sqlalchemy import select

from mailtickets.db.models import WebhookDelivery
from mailtickets.outbound.webhook_sender import WebhookSender
from mailtickets.services.privacy.erase import erase
from tests.integration.webhooks.conftest import post_all
from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose
from tests.support.webhooks import Receiver


def _rows(desk: Helpdesk) -> list[tuple[int | None, str, bool]]:
    with desk.app.sessions() as session:
        rows = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
        return [(r.ticket_id, r.status.value, r.body is not None) for r in rows]


def test_erasure_takes_the_webhook_events_about_the_person(
    desk: Helpdesk, receiver: Receiver, sender: WebhookSender
) -> None:
    desk.deliver(compose(sender="Ana <ana@example.com>", subject="Ana's printer"))
    post_all(sender)  # taken: only a retry would need the body, so it is not kept
    receiver.down()
    desk.deliver(compose(sender="Bob <bob@example.com>", subject="Bob's printer"))
    desk.deliver(compose(sender="Ana <ana@example.com>", subject="Ana's scanner"))
    post_all(sender)  # nobody answers: built, kept for the retry
    assert _rows(desk) == [(1, "sent", False), (2, "pending", True), (3, "pending", False)]
    with desk.app.sessions.begin() as session:
        erase(session, "ana@example.com", desk.clock.now(), desk.app.settings.outgoing.maildir)
    assert _rows(desk) == [(2, "pending", True)]
