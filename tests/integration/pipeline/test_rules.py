"""Routing rules at intake: queues, priorities, tags, assignees and automatic answers."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import cast

import pytest

from tests.support.helpdesk import Helpdesk, make_helpdesk
from tests.support.mail import compose

RULES = """
[[rule]]
name = "sales"
[rule.match]
subject = ["orçamento", "quote", "pricing"]
[rule.set]
queue = "Vendas"
priority = "high"
tags = ["sales"]
assignee = "bruno@acme.example"

[[rule]]
name = "big customer"
stop = true
[rule.match]
sender_domain = ["bigcorp.example"]
[rule.set]
priority = "urgent"
tags = ["vip"]

[[rule]]
name = "never after a stop"
[rule.match]
sender_domain = "bigcorp.example"
[rule.set]
tags = ["unreachable"]

[[rule]]
name = "password"
[rule.match]
subject = ["password", "senha"]
headers = { "Message-ID" = "@client[.]example" }
[rule.set]
macro = "password_reset"
"""


@pytest.fixture
def routed(tmp_path: Path) -> Iterator[Helpdesk]:
    desk = make_helpdesk(f"sqlite:///{tmp_path / 'mailtickets.db'}", tmp_path, RULES)
    yield desk
    desk.app.engine.dispose()


def _sent(desk: Helpdesk, address: str) -> list[EmailMessage]:
    """What was delivered to `address` (into the outbox maildir, the helpdesk's transport)."""
    desk.send_all()
    box = mailbox.Maildir(desk.app.settings.outgoing.maildir, create=False)
    messages = [
        cast(EmailMessage, message_from_bytes(box.get_bytes(key), policy=default))
        for key in box.iterkeys()
    ]
    return [m for m in messages if address in str(m["To"])]


def _tags(desk: Helpdesk, ticket_id: int) -> list[str]:
    return [str(e.data["tag"]) for e in desk.events(ticket_id, "tagged")]


def test_a_rule_routes_a_new_ticket_to_its_queue_priority_tags_and_agent(
    routed: Helpdesk,
) -> None:
    result = routed.deliver(compose(subject="Pedido de orçamento para 30 licenças"))
    assert result.ticket_id is not None
    ticket = routed.ticket(result.ticket_id)
    assert ticket["queue"] == "vendas@acme.example"
    assert ticket["priority"] == "high"
    assert ticket["assignee"] == "bruno@acme.example"
    assert _tags(routed, result.ticket_id) == ["sales"]
    (routed_event,) = routed.events(result.ticket_id, "routed")
    assert routed_event.data == {"rules": ["sales"]}
    # The assignee is told, not the queue's other agents.
    assert _sent(routed, "bruno@acme.example")
    assert not _sent(routed, "alice@acme.example")


def test_words_match_whole_words_only(routed: Helpdesk) -> None:
    result = routed.deliver(compose(subject="Quotes from our last meeting"))
    assert result.ticket_id is not None
    ticket = routed.ticket(result.ticket_id)
    assert (ticket["queue"], ticket["priority"]) == ("support@acme.example", "normal")
    assert routed.events(result.ticket_id, "routed") == []


def test_rules_apply_in_order_and_stop_ends_the_evaluation(routed: Helpdesk) -> None:
    result = routed.deliver(
        compose(sender="Carla <carla@eu.bigcorp.example>", subject="Quote for 500 seats")
    )
    assert result.ticket_id is not None
    ticket = routed.ticket(result.ticket_id)
    # "sales" chose the queue; "big customer", later, overrides the priority and stops.
    assert ticket["queue"] == "vendas@acme.example"
    assert ticket["priority"] == "urgent"
    assert _tags(routed, result.ticket_id) == ["sales", "vip"]
    (event,) = routed.events(result.ticket_id, "routed")
    assert event.data == {"rules": ["sales", "big customer"]}


def test_a_follow_up_stays_where_its_conversation_is(routed: Helpdesk) -> None:
    first = routed.deliver(compose(subject="Printer", message_id="p1@client.example"))
    follow = routed.deliver(
        compose(subject="Re: Printer, and a quote", in_reply_to="p1@client.example")
    )
    assert follow.outcome == "follow_up" and follow.ticket_id == first.ticket_id
    assert first.ticket_id is not None
    ticket = routed.ticket(first.ticket_id)
    assert (ticket["queue"], ticket["priority"]) == ("support@acme.example", "normal")


@pytest.mark.parametrize(
    ("queue", "subject", "body", "expected"),
    [
        (
            "support@acme.example",
            "Forgot my password",
            "Hello, I forgot my password and cannot log in any more.",
            "Resetting your password",
        ),
        (
            "vendas@acme.example",
            "Esqueci minha senha",
            "Olá, esqueci minha senha e não consigo mais entrar.",
            "Como redefinir a sua senha",
        ),
    ],
)
def test_a_macro_answers_in_the_acknowledgement_and_the_ticket_stays_open(
    routed: Helpdesk, queue: str, subject: str, body: str, expected: str
) -> None:
    # The body is in the queue's language: the customer's language picks the templates.
    result = routed.deliver(compose(to=queue, subject=subject, body=body), rcpt=(queue,))
    assert result.ticket_id is not None
    (ack,) = _sent(routed, "ana@example.com")
    text = ack.get_body(("plain",))
    html = ack.get_body(("html",))
    assert text is not None and html is not None
    assert expected in text.get_content()
    assert "ana@example.com" in text.get_content()  # the macro sees the ticket's customer
    assert expected in html.get_content() and "<ol" in html.get_content()
    assert routed.ticket(result.ticket_id)["status"] == "open"
    (answered,) = routed.events(result.ticket_id, "answered_automatically")
    assert answered.data == {"macro": "password_reset"}


def test_without_a_matching_rule_the_acknowledgement_has_no_answer(routed: Helpdesk) -> None:
    routed.deliver(compose(subject="Printer on fire"))
    (ack,) = _sent(routed, "ana@example.com")
    body = ack.get_body(("plain",))
    assert body is not None
    assert "This may already answer your question" not in body.get_content()
