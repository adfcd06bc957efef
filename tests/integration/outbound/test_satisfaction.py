"""CSAT round trips: resolve, the request, the customer's rating on the signed address,
recorded without reopening, thanked once; in English and in Portuguese."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from mailtickets.db.models import SatisfactionRating
from tests.support.helpdesk import CONFIG, Helpdesk, make_helpdesk
from tests.support.mail import compose
from tests.support.relay import Relay

QUOTE = "\n\nOn Mon, 2 Nov 2026 at 09:00, Support <support@acme.example> wrote:\n> How did we do?\n"


@pytest.fixture
def desk(relay: Relay, database_url: str, tmp_path: Path) -> Iterator[Helpdesk]:
    """The Support queue asks for ratings; Vendas keeps the default (it does not).
    On SQLite and on PostgreSQL."""
    config = CONFIG.replace('name = "Support"\n', 'name = "Support"\ncsat = true\n')
    extra = f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
    desk = make_helpdesk(database_url, tmp_path, extra, config)
    yield desk
    desk.app.engine.dispose()


def _to(relay: Relay, address: str) -> list[EmailMessage]:
    return [r.message for r in relay.received if address in r.recipients]


def _text(message: EmailMessage) -> str:
    return str(message.get_body(("plain",)).get_content())


def _resolved_ticket(
    desk: Helpdesk,
    relay: Relay,
    *,
    customer: str = "ana@example.com",
    queue: str = "support@acme.example",
    agent: str = "alice@acme.example",
    headers: dict[str, str] | None = None,
) -> int:
    """A customer's ticket that the queue's agent answered and resolved in one mail."""
    opened = desk.deliver(compose(sender=customer, to=queue, headers=headers), rcpt=(queue,))
    assert opened.ticket_id is not None
    desk.send_all()
    agent_address = _to(relay, agent)[-1]["Reply-To"].addresses[0].addr_spec
    answer = compose(sender=agent, to=agent_address, subject="Re: x", body="#resolve\nFixed.")
    assert desk.deliver(answer, rcpt=(agent_address,)).outcome == "agent_reply"
    desk.send_all()
    return opened.ticket_id


def _rate(desk: Helpdesk, request: EmailMessage, body: str, sender: str = "ana@example.com"):  # type: ignore[no-untyped-def]
    address = request["Reply-To"].addresses[0].addr_spec
    answer = compose(
        sender=sender,
        to=address,
        subject=f"Re: {request['Subject']}",
        body=body + QUOTE,
        in_reply_to=str(request["Message-ID"]).strip("<>"),
    )
    return desk.deliver(answer, rcpt=(address,))


def _ratings(desk: Helpdesk) -> list[tuple[int, int, str | None]]:
    with desk.app.sessions() as session:
        rows = session.scalars(select(SatisfactionRating).order_by(SatisfactionRating.id))
        return [(r.ticket_id, r.rating, r.comment) for r in rows]


def test_round_trip_in_english(desk: Helpdesk, relay: Relay) -> None:
    ticket_id = _resolved_ticket(desk, relay)
    request = _to(relay, "ana@example.com")[-1]
    assert str(request["Subject"]) == f"[ACME #{ticket_id}] How did we do? Printer on fire"
    assert "rating from 1 (bad) to" in _text(request)
    assert request["Reply-To"].addresses[0].addr_spec.startswith("support+csat.")

    rated = _rate(desk, request, "5\nQuick and kind, thank you.")
    assert rated.outcome == "satisfaction"
    assert rated.ticket_id == ticket_id
    assert desk.ticket(ticket_id)["status"] == "resolved"
    assert _ratings(desk) == [(ticket_id, 5, "Quick and kind, thank you.")]
    desk.send_all()
    thanks = _to(relay, "ana@example.com")[-1]
    assert str(thanks["Subject"]).startswith(f"[ACME #{ticket_id}] Thank you for your rating")
    assert str(thanks["In-Reply-To"]).endswith("@client.example>")  # answers the rating

    # A second answer replaces the rating; the customer is not thanked again.
    before = len(_to(relay, "ana@example.com"))
    assert _rate(desk, request, "4").outcome == "satisfaction"
    desk.send_all()
    assert _ratings(desk) == [(ticket_id, 4, None)]
    assert len(_to(relay, "ana@example.com")) == before
    assert desk.ticket(ticket_id)["status"] == "resolved"
    assert [e.data["rating"] for e in desk.events(ticket_id, "satisfaction_changed")] == [4]


def test_round_trip_in_portuguese(desk: Helpdesk, relay: Relay) -> None:
    ticket_id = _resolved_ticket(
        desk, relay, customer="joao@example.com.br", headers={"Content-Language": "pt-BR"}
    )
    request = _to(relay, "joao@example.com.br")[-1]
    assert "Como foi o nosso atendimento?" in str(request["Subject"])
    assert _rate(desk, request, "Ótimo! Resolveram rapidinho.", "joao@example.com.br").outcome == (
        "satisfaction"
    )
    assert _ratings(desk) == [(ticket_id, 5, "Ótimo! Resolveram rapidinho.")]
    desk.send_all()
    thanks = _to(relay, "joao@example.com.br")[-1]
    assert "Obrigado pela sua avaliação" in str(thanks["Subject"])
    assert "Obrigado por avaliar o nosso atendimento" in _text(thanks)
    assert desk.ticket(ticket_id)["status"] == "resolved"


def test_an_answer_without_a_rating_is_a_follow_up(desk: Helpdesk, relay: Relay) -> None:
    ticket_id = _resolved_ticket(desk, relay)
    request = _to(relay, "ana@example.com")[-1]
    answer = _rate(desk, request, "It is burning again!")
    assert answer.outcome == "follow_up"
    assert desk.ticket(ticket_id)["status"] == "open"
    assert _ratings(desk) == []


def test_only_a_participant_can_rate(desk: Helpdesk, relay: Relay) -> None:
    ticket_id = _resolved_ticket(desk, relay)
    request = _to(relay, "ana@example.com")[-1]
    # Threaded by its references like any reply, but no score: the address was passed on.
    stranger = _rate(desk, request, "1", sender="mallory@example.net")
    assert stranger.outcome == "follow_up"
    assert _ratings(desk) == []
    (ignored,) = desk.events(ticket_id, "reference_ignored")
    assert ignored.data["ignored_survey_of"] == ticket_id


def test_queues_ask_for_no_rating_by_default(desk: Helpdesk, relay: Relay) -> None:
    ticket_id = _resolved_ticket(
        desk,
        relay,
        customer="bia@example.com",
        queue="vendas@acme.example",
        agent="bruno@acme.example",
    )
    assert desk.events(ticket_id, "satisfaction_requested") == []
    subjects = [str(m["Subject"]) for m in _to(relay, "bia@example.com")]
    assert not any("atendimento?" in s or "How did we do" in s for s in subjects)


def test_the_customers_last_rating_reaches_the_agents(desk: Helpdesk, relay: Relay) -> None:
    _resolved_ticket(desk, relay)
    _rate(desk, _to(relay, "ana@example.com")[-1], "2\nToo slow.")
    desk.deliver(compose(subject="Another problem"))
    desk.send_all()
    notice = _text(_to(relay, "alice@acme.example")[-1])
    assert "Last rating from this customer: 2/5" in notice
    assert '"Too slow."' in notice


def test_a_suppressed_address_is_not_asked(desk: Helpdesk, relay: Relay) -> None:
    # Ana's mail server refuses our acknowledgement for good: her address is suppressed.
    relay.handler.rcpt_answers = {"ana@example.com": "550 5.1.1 <ana@example.com>: user unknown"}
    opened = desk.deliver(compose())
    assert opened.ticket_id is not None
    desk.send_all()
    assert _to(relay, "ana@example.com") == []
    address = _to(relay, "alice@acme.example")[-1]["Reply-To"].addresses[0].addr_spec
    resolve = compose(sender="alice@acme.example", to=address, body="#resolve")
    assert desk.deliver(resolve, rcpt=(address,)).outcome == "commands"
    assert desk.events(opened.ticket_id, "satisfaction_requested") == []
    (withheld,) = desk.events(opened.ticket_id, "satisfaction_withheld")
    assert withheld.data["why"] == (
        "address suppressed: refused by the relay: 550 5.1.1 <ana@example.com>: user unknown"
    )
