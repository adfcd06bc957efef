"""Who an agent is, by mail: strict mode's aligned pass, mail from an agent's address that
proves nothing, and an agent's own mail to a customer copied to the queue. Each through the
real pipeline, with what the ticket and a real relay show."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailtickets.db.models import Ticket
from tests.support.helpdesk import Helpdesk, make_helpdesk
from tests.support.mail import compose
from tests.support.relay import Relay

ALICE = "alice@acme.example"
ANA = "ana@example.com"
STRICT = '[authentication]\nrequire_for_agents = true\ntrusted_authserv_id = "mx.acme.example"\n'


def _desk(relay: Relay, tmp_path: Path, extra: str = "") -> Helpdesk:
    outgoing = f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
    return make_helpdesk(f"sqlite:///{tmp_path / 'desk.db'}", tmp_path, outgoing + extra)


@pytest.fixture
def strict(relay: Relay, tmp_path: Path) -> Iterator[Helpdesk]:
    desk = _desk(relay, tmp_path, STRICT)
    yield desk
    desk.app.engine.dispose()


@pytest.fixture
def any_relayed(database_url: str, relay: Relay, tmp_path: Path) -> Iterator[Helpdesk]:
    """A relayed helpdesk on SQLite and, in a second run, on PostgreSQL."""
    outgoing = f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
    desk = make_helpdesk(database_url, tmp_path, outgoing)
    yield desk
    desk.app.engine.dispose()


def _to(relay: Relay, address: str) -> list[EmailMessage]:
    return [r.message for r in relay.received if address in r.recipients]


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _open(desk: Helpdesk, relay: Relay, **kwargs: str) -> tuple[int, str]:
    """A customer's ticket, and Alice's signed reply address from her notice."""
    result = desk.deliver(compose(**kwargs), mail_from=ANA)
    assert result.ticket_id is not None
    desk.send_all()
    return result.ticket_id, _to(relay, ALICE)[-1]["Reply-To"].addresses[0].addr_spec


def _with_results(raw: bytes, *results: str) -> bytes:
    """`raw` as our MTA hands it on: its Authentication-Results on top, the topmost first."""
    return b"".join(f"Authentication-Results: {r}\r\n".encode() for r in results) + raw


def _incoming(desk: Helpdesk, ticket_id: int) -> list[dict[str, Any]]:
    return [m for m in desk.ticket(ticket_id)["messages"] if m["direction"] == "in"]


# -- strict mode -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "results",
    [
        ["mx.acme.example; dkim=pass header.d=acme.example; spf=fail smtp.mailfrom=x.example"],
        ["mx.acme.example; spf=pass smtp.mailfrom=alice@acme.example"],
        ["mx.acme.example; dkim=pass header.d=acme.example", "other.example; dkim=fail"],
    ],
)
def test_strict_mode_runs_an_agents_reply_with_a_pass_for_their_domain(
    strict: Helpdesk, relay: Relay, results: list[str]
) -> None:
    ticket_id, address = _open(strict, relay)
    reply = compose(sender=ALICE, to=address, body="#priority urgent\nPlease unplug it.")
    result = strict.deliver(_with_results(reply, *results), rcpt=(address,), mail_from=ALICE)
    assert (result.outcome, result.ticket_id) == ("agent_reply", ticket_id)
    strict.send_all()
    assert strict.ticket(ticket_id)["priority"] == "urgent"
    assert "Please unplug it." in _text(_to(relay, ANA)[-1])


@pytest.mark.parametrize(
    ("results", "why"),
    [
        (["mx.acme.example; dkim=pass header.d=evil.example"], "DKIM of evil.example"),
        (["mx.acme.example; spf=pass smtp.mailfrom=evil.example"], "SPF of evil.example"),
        (["mx.acme.example; spf=pass smtp.mailfrom=mal@evil.example"], "SPF of mal@evil"),
        (
            ["mx.acme.example; dkim=pass header.d=acme.example; dmarc=fail header.from=x.example"],
            "dmarc=fail beside an aligned DKIM pass",
        ),
        (
            [
                "mx.acme.example; dkim=fail header.d=acme.example",
                "mx.acme.example; dkim=pass header.d=acme.example",
            ],
            "a forged header below ours",
        ),
        (
            ['mx.acme.example; spf=fail smtp.mailfrom="spf=pass"@evil.example'],
            "the envelope copied into a property",
        ),
        (["mx.acme.example; x-dkim=pass header.d=acme.example"], "x-dkim is not dkim"),
        (
            ["mx.acme.example; spf=fail (dkim=pass header.d=acme.example) smtp.mailfrom=x.example"],
            "a pass in a comment",
        ),
        (["evil.example; dkim=pass header.d=acme.example"], "another server's verdict"),
        ([], "no verdict at all"),
    ],
)
def test_strict_mode_keeps_anything_else_as_an_unverified_note(
    strict: Helpdesk, relay: Relay, results: list[str], why: str
) -> None:
    ticket_id, address = _open(strict, relay)
    before = len(_to(relay, ANA))
    reply = compose(sender=ALICE, to=address, body="#status closed\nSend me your password.")
    result = strict.deliver(_with_results(reply, *results), rcpt=(address,), mail_from=ALICE)
    assert (result.outcome, result.ticket_id) == ("unverified", ticket_id), why
    strict.send_all()
    ticket = strict.ticket(ticket_id)
    assert ticket["status"] == "open", why  # no command ran
    note = _incoming(strict, ticket_id)[-1]
    assert (note["kind"], note["new_text"]) == (
        "unverified",
        "#status closed\nSend me your password.",
    )
    assert len(_to(relay, ANA)) == before, why  # nothing reached the customer
    told = _to(relay, ALICE)[-1]
    assert "kept as an internal" in _text(told)
    assert "DKIM or SPF" in _text(told)
    (event,) = strict.events(ticket_id, "agent_unverified")
    assert event.data["why"] == "authentication"


# -- mail from an agent's address that proves nothing --------------------------------------


def test_an_agents_mail_naming_a_ticket_by_its_tag_is_an_unverified_note(
    any_relayed: Helpdesk, relay: Relay
) -> None:
    relayed = any_relayed
    ticket_id, _ = _open(relayed, relay)
    before = len(relay.received)
    mail = compose(
        sender=f"Alice <{ALICE}>",
        subject=f"Re: [ACME #{ticket_id}] Printer on fire",
        body="#status closed\nThe printer model is X200.",
    )
    result = relayed.deliver(mail, mail_from=ALICE)
    assert (result.outcome, result.ticket_id) == ("unverified", ticket_id)
    relayed.send_all()
    ticket = relayed.ticket(ticket_id)
    assert ticket["status"] == "open"
    assert [p["address"] for p in ticket["participants"]] == [ANA]
    assert _incoming(relayed, ticket_id)[-1]["kind"] == "unverified"
    # One mail, to Alice alone: no acknowledgement, nothing to the customer.
    (told,) = [r.message for r in relay.received[before:]]
    assert told["To"].addresses[0].addr_spec == ALICE
    assert str(told["Subject"]).startswith(f"[ACME #{ticket_id}] Kept as an unverified note")
    assert "reply to this mail" in _text(told)
    assert "the printer is on fire." in _text(told)  # the conversation, to act on it
    # Its reply address is hers for that ticket: answering it acts on the ticket.
    address = told["Reply-To"].addresses[0].addr_spec
    answer = compose(sender=ALICE, to=address, body="#priority urgent")
    assert relayed.deliver(answer, rcpt=(address,), mail_from=ALICE).outcome == "commands"
    assert relayed.ticket(ticket_id)["priority"] == "urgent"


def test_an_agents_mail_naming_a_ticket_by_reference_is_an_unverified_note(
    relayed: Helpdesk, relay: Relay
) -> None:
    ticket_id, _ = _open(relayed, relay, message_id="first@client.example")
    mail = compose(sender=ALICE, in_reply_to="first@client.example", body="Looked at it.")
    result = relayed.deliver(mail, mail_from=ALICE)
    assert (result.outcome, result.ticket_id) == ("unverified", ticket_id)
    (event,) = relayed.events(ticket_id, "agent_unverified")
    assert event.data["why"] == "address"
    assert event.data["matched_by"] == "reference to <first@client.example>"


@pytest.mark.parametrize("whose", ["alice", "customer"])
def test_a_reply_address_not_made_for_the_agent_gives_an_unverified_note(
    relayed: Helpdesk, relay: Relay, whose: str
) -> None:
    """Bruno on Alice's reply address, or Alice on the customer's: neither is theirs."""
    ticket_id, alices = _open(relayed, relay)
    customers = _to(relay, ANA)[-1]["Reply-To"].addresses[0].addr_spec
    sender, address = ("bruno@acme.example", alices) if whose == "alice" else (ALICE, customers)
    before = len(_to(relay, ANA))
    mail = compose(sender=sender, to=address, body="#close\nDone.")
    result = relayed.deliver(mail, rcpt=(address,), mail_from=sender)
    assert (result.outcome, result.ticket_id) == ("unverified", ticket_id)
    relayed.send_all()
    assert relayed.ticket(ticket_id)["status"] == "open"
    assert len(_to(relay, ANA)) == before
    assert "Kept as an unverified note" in str(_to(relay, sender)[-1]["Subject"])
    (event,) = relayed.events(ticket_id, "agent_unverified")
    assert event.data["why"] == ("other_agent" if whose == "alice" else "address")


def test_an_agents_mail_naming_nothing_is_never_a_customers(
    relayed: Helpdesk, relay: Relay
) -> None:
    mail = compose(sender=f"Alice <{ALICE}>", subject="Lunch?", body="Anyone up for lunch?")
    result = relayed.deliver(mail, mail_from=ALICE)
    assert (result.outcome, result.ticket_id) == ("not_recorded", None)
    relayed.send_all()
    with relayed.app.sessions() as session:
        assert session.scalars(select(Ticket)).all() == []
    (told,) = _to(relay, ALICE)
    assert told["Subject"] == "Not recorded: Lunch?"
    assert told["Auto-Submitted"] == "auto-generated"  # not an acknowledgement
    text = _text(told)
    assert "names no ticket and is addressed to no customer" in text
    assert "support@acme.example in Cc or Bcc" in text


# -- an agent's own mail to a customer, copied to the queue ---------------------------------


def _first_response_at(desk: Helpdesk, ticket_id: int) -> object:
    with desk.app.sessions() as session:
        return session.get_one(Ticket, ticket_id).first_response_at


@pytest.mark.parametrize("copy", ["Cc", "Bcc"])
def test_an_agent_writing_to_a_customer_with_the_queue_copied_answers_their_ticket(
    any_relayed: Helpdesk, relay: Relay, copy: str
) -> None:
    relayed = any_relayed
    ticket_id, _ = _open(relayed, relay)
    assert _first_response_at(relayed, ticket_id) is None
    before = len(relay.received)
    mail = compose(
        sender=f"Alice <{ALICE}>",
        to=f"Ana <{ANA}>",
        cc="support@acme.example" if copy == "Cc" else None,
        subject="About your printer",
        body="Hi Ana, I called the technician; he comes at 3.",
    )
    result = relayed.deliver(mail, rcpt=("support@acme.example",), mail_from=ALICE)
    assert (result.outcome, result.ticket_id) == ("agent_reply", ticket_id)
    relayed.send_all()
    ticket = relayed.ticket(ticket_id)
    answer = _incoming(relayed, ticket_id)[-1]
    assert (answer["kind"], answer["author"]) == ("agent", f"Alice <{ALICE}>")
    assert answer["new_text"] == "Hi Ana, I called the technician; he comes at 3."
    assert ticket["status"] == "pending"
    assert _first_response_at(relayed, ticket_id) == relayed.clock.now()
    # Ana has it from Alice already; the queue sends nothing, to anyone.
    assert relay.received[before:] == []


def test_an_agent_writing_to_a_new_customer_opens_a_ticket_for_them(
    relayed: Helpdesk, relay: Relay
) -> None:
    mail = compose(
        sender=f"Alice <{ALICE}>",
        to="Carla <carla@example.org>",
        cc="support@acme.example",
        subject="Your quote",
        body="Hello Carla, the quote is 300 EUR.",
    )
    result = relayed.deliver(mail, mail_from=ALICE)
    assert result.outcome == "new_ticket" and result.ticket_id is not None
    relayed.send_all()
    ticket = relayed.ticket(result.ticket_id)
    assert (ticket["customer"], ticket["status"], ticket["subject"]) == (
        "carla@example.org",
        "pending",
        "Your quote",
    )
    assert [m["kind"] for m in _incoming(relayed, result.ticket_id)] == ["agent"]
    (opened,) = relayed.events(result.ticket_id, "opened_on_behalf")
    assert (opened.actor, opened.data["customer"]) == (ALICE, "carla@example.org")
    assert _to(relay, "carla@example.org") == []  # no acknowledgement, no copy
    # The agents hear of the new ticket, and Alice gets her reply address for it.
    (notice,) = _to(relay, ALICE)
    assert str(notice["Subject"]).startswith(f"[ACME #{result.ticket_id}] New ticket")


def test_strict_mode_keeps_an_unproven_copy_as_an_unverified_note(
    strict: Helpdesk, relay: Relay
) -> None:
    ticket_id, _ = _open(strict, relay)
    mail = compose(sender=ALICE, to=ANA, cc="support@acme.example", body="Call me.")
    result = strict.deliver(mail, mail_from=ALICE)
    assert (result.outcome, result.ticket_id) == ("unverified", ticket_id)
    assert _first_response_at(strict, ticket_id) is None
    stranger = compose(sender=ALICE, to="dora@example.net", cc="support@acme.example")
    assert strict.deliver(stranger, mail_from=ALICE).outcome == "not_recorded"
