"""Agents work by plain email: replies relayed to the customer, notes, commands, errors,
and nothing honoured without the agent's own signed reply address (what becomes of other
mail from an agent's address: test_agent_identity)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose
from tests.support.relay import Relay

QUOTE = (
    "\n\nOn Mon, 2 Nov 2026 at 09:00, Support <support@acme.example> wrote:\n"
    "> the printer is on fire\n"
)


def _open(desk: Helpdesk, relay: Relay, **kwargs: object) -> tuple[int, str]:
    """A customer's ticket, and Alice's signed reply address from her notice."""
    result = desk.deliver(compose(**kwargs))  # type: ignore[arg-type]
    assert result.ticket_id is not None
    desk.send_all()
    notice = _last_to(relay, "alice@acme.example")
    return result.ticket_id, notice["Reply-To"].addresses[0].addr_spec


def _last_to(relay: Relay, address: str) -> EmailMessage:
    return [r.message for r in relay.received if address in r.recipients][-1]


def _agent_mail(desk: Helpdesk, address: str, body: str, sender: str = "alice@acme.example"):  # type: ignore[no-untyped-def]
    return desk.deliver(
        compose(sender=f"Alice <{sender}>", to=address, subject="Re: x", body=body),
        rcpt=(address,),
    )


def _sent_to_customer(relay: Relay) -> list[EmailMessage]:
    return [r.message for r in relay.received if "ana@example.com" in r.recipients]


def test_agent_reply_reaches_the_customer_as_new_text_only_and_threaded(
    relayed: Helpdesk, relay: Relay
) -> None:
    ticket_id, address = _open(relayed, relay, message_id="c1@client.example")
    result = _agent_mail(relayed, address, "Please unplug it first." + QUOTE)
    assert result.outcome == "agent_reply"
    relayed.send_all()
    answer = _sent_to_customer(relay)[-1]
    body = answer.get_body(("plain",)).get_content()
    assert "Please unplug it first." in body
    assert "the printer is on fire" not in body
    assert str(answer["From"]) == "Support <support@acme.example>"
    assert str(answer["In-Reply-To"]) == "<c1@client.example>"
    assert str(answer["Subject"]).startswith(f"[ACME #{ticket_id}] ")
    ticket = relayed.ticket(ticket_id)
    assert ticket["status"] == "pending"

    # The customer answers; Alice hears of it; she resolves with a command only.
    reply = compose(
        to=answer["Reply-To"].addresses[0].addr_spec,
        in_reply_to=str(answer["Message-ID"]).strip("<>"),
        body="Unplugged, it stopped.",
    )
    assert relayed.deliver(reply).outcome == "follow_up"
    relayed.send_all()
    assert (
        "Unplugged, it stopped."
        in _last_to(relay, "alice@acme.example").get_body(("plain",)).get_content()
    )
    before = len(_sent_to_customer(relay))
    assert _agent_mail(relayed, address, "#resolve" + QUOTE).outcome == "commands"
    relayed.send_all()
    assert relayed.ticket(ticket_id)["status"] == "resolved"
    (resolved,) = _sent_to_customer(relay)[before:]
    assert str(resolved["Subject"]).startswith(f"[ACME #{ticket_id}] ")
    assert "resolved" in resolved.get_body(("plain",)).get_content().lower()


def test_several_commands_apply_together_and_send_nothing(relayed: Helpdesk, relay: Relay) -> None:
    ticket_id, address = _open(relayed, relay)
    before = len(_sent_to_customer(relay))
    body = "#priority urgent\n#assign me\n#tag billing\n#cc bia@example.com\n#status pending"
    assert _agent_mail(relayed, address, body).outcome == "commands"
    relayed.send_all()
    ticket = relayed.ticket(ticket_id)
    assert (ticket["priority"], ticket["assignee"], ticket["status"]) == (
        "urgent",
        "alice@acme.example",
        "pending",
    )
    assert "bia@example.com" in [p["address"] for p in ticket["participants"]]
    assert len(_sent_to_customer(relay)) == before


def test_portuguese_aliases_work(relayed: Helpdesk, relay: Relay) -> None:
    ticket_id, address = _open(relayed, relay)
    _agent_mail(relayed, address, "#prioridade alta\n#atribuir eu\n#fechar")
    ticket = relayed.ticket(ticket_id)
    assert (ticket["priority"], ticket["assignee"], ticket["status"]) == (
        "high",
        "alice@acme.example",
        "closed",
    )


def test_a_note_never_reaches_the_customer(relayed: Helpdesk, relay: Relay) -> None:
    ticket_id, address = _open(relayed, relay)
    before = len(_sent_to_customer(relay))
    assert _agent_mail(relayed, address, "#nota\nCustomer is on the VIP list.").outcome == "note"
    relayed.send_all()
    assert len(_sent_to_customer(relay)) == before
    notes = [m for m in relayed.ticket(ticket_id)["messages"] if m["kind"] == "note"]
    assert [n["new_text"] for n in notes] == ["Customer is on the VIP list."]
    assert relayed.ticket(ticket_id)["status"] == "open"


def test_an_unknown_command_changes_nothing_and_the_agent_is_told(
    relayed: Helpdesk, relay: Relay
) -> None:
    ticket_id, address = _open(relayed, relay)
    result = _agent_mail(relayed, address, "#priority urgent\n#priorty high\nText for Ana.")
    assert result.outcome == "command_error"
    relayed.send_all()
    ticket = relayed.ticket(ticket_id)
    assert (ticket["priority"], ticket["status"]) == ("normal", "open")
    error = _last_to(relay, "alice@acme.example").get_body(("plain",)).get_content()
    assert "#priorty" in error and "#status open|pending|resolved|closed" in error
    assert not any(
        "Text for Ana." in str(m.get_body(("plain",)).get_content())
        for m in _sent_to_customer(relay)
    )


def test_merge_moves_the_conversation(relayed: Helpdesk, relay: Relay) -> None:
    first, _ = _open(relayed, relay)
    second, address = _open(relayed, relay, subject="Printer again")
    assert _agent_mail(relayed, address, f"#merge {first}").outcome == "commands"
    assert relayed.ticket(second)["status"] == "closed"
    incoming = [m for m in relayed.ticket(first)["messages"] if m["direction"] == "in"]
    assert len(incoming) == 2
    # Mail that still threads to the merged ticket lands in the one it was merged into.
    reply = compose(subject=f"Re: [ACME #{second}] Printer again", body="more")
    assert relayed.deliver(reply).ticket_id == first


@pytest.mark.parametrize(
    ("sender", "why"),
    [
        ("bruno@acme.example", "another agent using Alice's address"),
        ("eve@evil.example", "a stranger using Alice's address"),
    ],
)
def test_commands_need_the_agents_own_address_and_from(
    relayed: Helpdesk, relay: Relay, sender: str, why: str
) -> None:
    ticket_id, address = _open(relayed, relay)
    result = _agent_mail(relayed, address, "#status closed\n#priority urgent", sender=sender)
    assert result.outcome not in ("commands", "agent_reply", "note"), why
    # Neither command ran: the pair differing from (closed, urgent) is not enough.
    ticket = relayed.ticket(ticket_id)
    assert (ticket["status"], ticket["priority"]) == ("open", "normal"), why


def test_an_agent_opens_a_ticket_on_behalf_of_a_customer(relayed: Helpdesk, relay: Relay) -> None:
    forward = compose(
        sender="Alice <alice@acme.example>",
        subject="Fwd: Pedido de orçamento",
        body="#customer carla@example.org\n\n---------- Forwarded message ---------\n"
        "From: Carla <carla@example.org>\n\nQuero um orçamento.",
    )
    result = relayed.deliver(forward)
    assert result.outcome == "new_ticket" and result.ticket_id is not None
    ticket = relayed.ticket(result.ticket_id)
    assert ticket["customer"] == "carla@example.org"
    assert ticket["subject"] == "Pedido de orçamento"
    assert "Quero um orçamento." in ticket["messages"][0]["new_text"]
    relayed.send_all()
    # Nothing proves the From header, so the customer is not mailed on its say-so.
    assert not [r for r in relay.received if "carla@example.org" in r.recipients]


def test_merge_then_close_closes_only_the_merged_ticket_and_cycles_are_refused(
    relayed: Helpdesk, relay: Relay
) -> None:
    first, first_address = _open(relayed, relay)
    second, address = _open(relayed, relay, subject="Printer again")
    assert _agent_mail(relayed, address, f"#merge {first}\n#close").outcome == "commands"
    assert relayed.ticket(second)["status"] == "closed"
    assert relayed.ticket(first)["status"] == "open"
    back = _agent_mail(relayed, first_address, f"#merge {second}")
    assert back.outcome == "command_error"
    assert relayed.ticket(first)["status"] == "open"
