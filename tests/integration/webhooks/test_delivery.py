"""Ticket events reach a real HTTP receiver once each, signed, as `{"id", "type",
"created_at", "data"}` with `data.ticket` as `tickets show --json` shows it; a receiver that
fails gets them on a retry, and one that keeps failing is reported down."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

from mailtickets.db.models import Ticket, TicketStatus
from mailtickets.metrics import Metrics
from mailtickets.outbound.webhook_sender import WebhookSender
from mailtickets.services import tickets, webhooks
from tests.integration.webhooks.conftest import hooked_helpdesk, post_all, webhook_sender
from tests.support.cli import SECRET
from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose
from tests.support.webhooks import Receiver


def _conversation(desk: Helpdesk) -> int:
    """A customer writes, Alice takes and resolves it with an answer, the customer writes
    back (which reopens it): the events of a ticket's ordinary life."""
    opened = desk.deliver(compose(message_id="first@client.example"))
    assert opened.ticket_id is not None
    desk.clock.advance(timedelta(minutes=5))
    desk.agent_says(opened.ticket_id, "#assign me\n#status resolved\n\nUnplug it, please.")
    desk.clock.advance(timedelta(minutes=5))
    answer = [row for row in desk.outbox(opened.ticket_id) if row.recipients == ["ana@example.com"]]
    reply = compose(in_reply_to=answer[-1].message_id, body="Unplugged. It still smokes.")
    assert desk.deliver(reply).outcome == "follow_up"
    return opened.ticket_id


def test_each_event_reaches_the_receiver_once_signed(
    desk: Helpdesk, receiver: Receiver, sender: WebhookSender
) -> None:
    ticket_id = _conversation(desk)
    post_all(sender)
    desk.clock.advance(timedelta(hours=1))
    post_all(sender)  # nothing is posted twice

    posts = receiver.posts
    assert all(p.answered == 200 for p in posts)
    assert Counter(p.json["type"] for p in posts) == {
        "ticket.created": 1,
        "ticket.assigned": 1,
        "ticket.status_changed": 2,  # resolved by Alice, open again by Ana's answer
        "ticket.replied": 2,
    }
    assert len({p.json["id"] for p in posts}) == len(posts)
    for post in posts:
        assert post.signed_with(SECRET)
        assert not post.signed_with(SECRET + "x")
        assert post.headers["content-type"] == "application/json"
        assert post.headers["x-mailtickets-event"] == post.json["type"]
        assert set(post.json) == {"id", "type", "created_at", "data"}
        # The ticket as `tickets show --json` shows it.
        assert post.json["data"]["ticket"] == desk.ticket(ticket_id)
    replies = {
        p.json["data"]["by"]: p.json["data"] for p in posts if p.json["type"] == "ticket.replied"
    }
    assert replies["agent"]["actor"] == "alice@acme.example"
    assert replies["customer"]["actor"] == "ana@example.com"
    changes = [p.json["data"] for p in posts if p.json["type"] == "ticket.status_changed"]
    assert [(c["previous"], c["status"]) for c in changes] == [
        ("open", "resolved"),
        ("resolved", "open"),
    ]
    (assigned,) = [p.json["data"] for p in posts if p.json["type"] == "ticket.assigned"]
    assert assigned["assignee"] == "alice@acme.example"


def test_a_receiver_that_answers_500_gets_the_event_on_the_retry(
    desk: Helpdesk, receiver: Receiver, sender: WebhookSender
) -> None:
    receiver.answers = [500]
    desk.deliver(compose())
    post_all(sender)
    (refused,) = receiver.posts
    assert refused.answered == 500
    # It waits its backoff: nothing more until the retry is due.
    post_all(sender)
    assert len(receiver.posts) == 1
    desk.clock.advance(timedelta(seconds=11))
    post_all(sender)
    first, again = receiver.posts
    assert again.answered == 200
    assert again.json["id"] == first.json["id"]
    assert again.body == first.body  # built once, kept: the same bytes on every try
    assert again.signed_with(SECRET)


def test_a_receiver_that_keeps_failing_is_down_and_up_again_when_it_answers(
    desk: Helpdesk, receiver: Receiver, sender: WebhookSender
) -> None:
    receiver.answers = [503, 503, 503]
    desk.deliver(compose())
    for _ in range(3):
        post_all(sender)
        desk.clock.advance(timedelta(hours=1))
    assert [p.answered for p in receiver.posts] == [503, 503, 503]
    health = sender.health()  # what /healthz says
    assert not health.ok
    assert "webhook crm down" in health.detail
    assert "503" in health.detail
    metrics = Metrics(desk.app.sessions)
    metrics.watch_webhooks(sender.receivers(), sender.is_down)
    labels = {"receiver": "crm"}
    assert metrics.registry.get_sample_value("mailtickets_webhook_receiver_up", labels) == 0
    waiting = labels | {"status": "pending"}
    assert metrics.registry.get_sample_value("mailtickets_webhook_deliveries", waiting) == 1
    post_all(sender)
    assert receiver.posts[-1].answered == 200
    assert sender.trouble() is None
    assert metrics.registry.get_sample_value("mailtickets_webhook_receiver_up", labels) == 1


def test_a_down_receiver_is_not_tried_for_each_event(
    desk: Helpdesk, receiver: Receiver, sender: WebhookSender
) -> None:
    receiver.down()  # nobody listens: every post fails at once
    desk.deliver(compose(subject="one"))
    post_all(sender)
    desk.deliver(compose(subject="two"))
    desk.deliver(compose(subject="three"))
    post_all(sender)
    # The two new events wait for the receiver's backoff instead of failing one by one.
    with desk.app.sessions() as session:
        waiting = webhooks.rows(session)
    assert [row["attempts"] for row in waiting] == [1, 0, 0]
    receiver.up()
    desk.clock.advance(timedelta(minutes=1))
    post_all(sender)
    assert sorted(p.json["data"]["ticket"]["subject"] for p in receiver.posts) == [
        "one",
        "three",
        "two",
    ]


def test_events_and_queues_choose_what_a_receiver_gets(tmp_path: Path, receiver: Receiver) -> None:
    desk = hooked_helpdesk(tmp_path, receiver, 'events = ["ticket.created"]\nqueues = ["Vendas"]\n')
    sender = webhook_sender(desk)
    try:
        desk.deliver(compose(subject="support"))
        desk.deliver(
            compose(to="vendas@acme.example", subject="vendas"), rcpt=("vendas@acme.example",)
        )
        desk.clock.advance(timedelta(minutes=1))
        desk.agent_says(2, "#status resolved")
        post_all(sender)
    finally:
        sender.close()
        desk.app.engine.dispose()
    (only,) = receiver.posts
    assert only.json["type"] == "ticket.created"
    assert only.json["data"]["ticket"]["queue"] == "vendas@acme.example"


def test_nothing_is_queued_when_the_change_rolls_back(
    desk: Helpdesk, receiver: Receiver, sender: WebhookSender
) -> None:
    desk.deliver(compose())
    post_all(sender)
    session = desk.app.sessions()
    with session.begin():
        ticket = session.get_one(Ticket, 1)
        tickets.set_status(
            session, ticket, TicketStatus.CLOSED, desk.clock.now(), None, sla=desk.app.sla
        )
        session.rollback()
    session.close()
    post_all(sender)
    assert [p.json["type"] for p in receiver.posts] == ["ticket.created"]


def test_a_refused_event_fails_for_good_until_an_operator_retries_it(
    desk: Helpdesk, receiver: Receiver, sender: WebhookSender
) -> None:
    receiver.answers = [410]  # e.g. a Slack webhook whose channel was deleted
    desk.deliver(compose())
    post_all(sender)
    desk.clock.advance(timedelta(days=1))
    post_all(sender)
    assert len(receiver.posts) == 1
    with desk.app.sessions() as session:
        (failed,) = webhooks.rows(session, failed_only=True)
    assert failed["status"] == "failed"
    assert failed["last_error"].startswith("refused: answered 410 Gone")
    with desk.app.sessions.begin() as session:
        assert webhooks.retry(session, None, desk.clock.now()) == (1, 0)
    post_all(sender)
    first, again = receiver.posts
    assert again.answered == 200
    assert again.json["id"] == first.json["id"]
    with desk.app.sessions() as session:
        assert webhooks.rows(session) == []


def test_mail_imported_as_history_tells_no_receiver(
    desk: Helpdesk, receiver: Receiver, sender: WebhookSender
) -> None:
    live = desk.deliver(compose(subject="live", message_id="live@client.example"))
    post_all(sender)
    desk.clock.advance(timedelta(days=30))
    # Old mail, imported: a ticket of its own, and an old answer on the live ticket.
    desk.deliver(compose(subject="archived", message_id="old@client.example"), history=True)
    old_reply = compose(in_reply_to="live@client.example", body="Any news?")
    assert desk.deliver(old_reply, history=True).ticket_id == live.ticket_id
    desk.clock.advance(timedelta(minutes=1))
    desk.deliver(compose(in_reply_to="live@client.example", body="Hello again."))
    post_all(sender)
    events = [(p.json["type"], p.json["data"].get("by")) for p in receiver.posts]
    assert events == [("ticket.created", None), ("ticket.replied", "customer")]
