"""What agents and customers read: our own words cut from an agent's reply, the conversation
for agents who have not seen it, `#history`, and `#customer` writing to a customer. Each
through the real pipeline, with what the ticket and a real relay show."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.helpdesk import Helpdesk, make_helpdesk
from tests.support.mail import compose
from tests.support.relay import Relay

ALICE = "alice@acme.example"
ANA = "ana@example.com"
OUTGOING = '[outgoing]\nhost = "127.0.0.1"\nport = {port}\ntls = "none"\n'
CAROL = '[[agent]]\naddress = "carol@acme.example"\nname = "Carol"\nqueues = ["Support"]\n'


def _to(relay: Relay, address: str) -> list[EmailMessage]:
    return [r.message for r in relay.received if address in r.recipients]


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def _html(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def _open(desk: Helpdesk, relay: Relay) -> tuple[int, EmailMessage]:
    """Ana's ticket (she has another one open, which Alice's notice lists), and the notice."""
    desk.deliver(compose(subject="Invoice address wrong", body="My invoice address is old."))
    result = desk.deliver(compose())
    assert result.ticket_id is not None
    desk.send_all()
    return result.ticket_id, _to(relay, ALICE)[-1]


def _reply(desk: Helpdesk, notice: EmailMessage, body: str = "", html: str | None = None) -> str:
    """Alice answers `notice` from her mail client; the outcome."""
    address = notice["Reply-To"].addresses[0].addr_spec
    mail = EmailMessage()
    mail["From"], mail["To"] = f"Alice <{ALICE}>", address
    mail["Subject"] = f"RE: {notice['Subject']}"
    mail["Message-ID"] = f"<reply-{len(desk.intake())}@alice.example>"
    mail["In-Reply-To"] = str(notice["Message-ID"])
    if html is None:
        mail.set_content(body)
    else:
        mail.set_content(html, subtype="html")
    return str(desk.deliver(mail.as_bytes(), rcpt=(address,), mail_from=ALICE).outcome)


def _dutch_outlook(notice: EmailMessage) -> str:
    """Outlook in Dutch: an introduction the general quote stripping does not know."""
    return (
        "Graag de stekker eruit halen.\n\nAlice\n\n-----Oorspronkelijk bericht-----\n"
        f"Van: Support <{notice['Reply-To'].addresses[0].addr_spec}>\n"
        "Verzonden: maandag 2 november 2026 10:00\nAan: Alice <alice@acme.example>\n"
        f"Onderwerp: {notice['Subject']}\n\n{_text(notice)}"
    )


def _gmail_rewrapped(notice: EmailMessage) -> str:
    """Gmail: "> " on every line, the lines re-wrapped, the attribution over two lines."""
    flowed = " ".join(_text(notice).split())
    quoted = "\n".join(f"> {line}" for line in textwrap.wrap(flowed, 60))
    address = notice["Reply-To"].addresses[0].addr_spec
    return (
        "Graag de stekker eruit halen.\n\nAlice\n\n"
        f"On Mon, Nov 2, 2026 at 10:00 AM Support <\n{address}> wrote:\n\n{quoted}\n"
    )


def _outlook_html(notice: EmailMessage) -> str:
    """Outlook's HTML answer: our HTML notice below a bordered header block."""
    address = notice["Reply-To"].addresses[0].addr_spec
    return (
        "<html><body><div>Graag de stekker eruit halen.</div><div>Alice</div>"
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in">'
        f'<p class="MsoNormal"><b>Van:</b> Support &lt;{address}&gt;<br><b>Verzonden:</b> '
        f"maandag 2 november 2026 10:00<br><b>Onderwerp:</b> x</p></div>{_html(notice)}"
        "</body></html>"
    )


@pytest.mark.parametrize("client", ["dutch outlook", "gmail rewrapped", "outlook html"])
def test_our_notice_quoted_in_a_reply_never_reaches_the_customer(
    relayed: Helpdesk, relay: Relay, client: str
) -> None:
    ticket_id, notice = _open(relayed, relay)
    assert "Invoice address wrong" in _text(notice)  # what must not leak
    if client == "outlook html":
        outcome = _reply(relayed, notice, html=_outlook_html(notice))
    else:
        body = _dutch_outlook(notice) if client == "dutch outlook" else _gmail_rewrapped(notice)
        outcome = _reply(relayed, notice, body)
    assert outcome == "agent_reply"
    relayed.send_all()
    sent = _to(relay, ANA)[-1]
    answer = _text(sent)
    assert "Graag de stekker eruit halen." in answer
    # Both parts: the HTML one is the agent's own formatting, cut apart from the text.
    html = _html(sent) if sent.get_body(("html",)) is not None else ""
    for ours in ("Invoice address wrong", "#priority", "New ticket", "Reply to this mail"):
        assert ours not in answer, f"{ours!r} reached the customer ({client})"
        assert ours not in html, f"{ours!r} reached the customer in HTML ({client})"
    stored = [m for m in relayed.ticket(ticket_id)["messages"] if m["kind"] == "agent"]
    assert stored[-1]["new_text"].startswith("Graag de stekker eruit halen.")
    assert "Invoice address wrong" not in stored[-1]["new_text"]


def test_a_reply_that_only_quotes_our_notice_sends_nothing_and_the_agent_is_told(
    relayed: Helpdesk, relay: Relay
) -> None:
    ticket_id, notice = _open(relayed, relay)
    before = len(_to(relay, ANA))
    address = notice["Reply-To"].addresses[0].addr_spec
    quoted = "\n".join(f"> {line}" for line in _text(notice).split("\n"))
    body = f"On Mon, 2 Nov 2026 at 10:00, Support <{address}> wrote:\n{quoted}\n"
    assert _reply(relayed, notice, body) == "nothing_new"
    relayed.send_all()
    assert len(_to(relay, ANA)) == before
    assert relayed.ticket(ticket_id)["status"] == "open"
    told = _to(relay, ALICE)[-1]
    assert str(told["Subject"]).endswith("Nothing sent: Printer on fire")
    assert "nothing but our own quoted notice" in _text(told)


def test_a_file_sent_with_only_the_quote_is_not_called_nothing(
    relayed: Helpdesk, relay: Relay
) -> None:
    _, notice = _open(relayed, relay)
    address = notice["Reply-To"].addresses[0].addr_spec
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = ALICE, address, f"RE: {notice['Subject']}"
    mail.set_content(f"On 02/11/2026 10:00, Support wrote:\n> {_text(notice)}")
    mail.add_attachment(b"%PDF-1.4 manual", "application", "pdf", filename="manual.pdf")
    result = relayed.deliver(mail.as_bytes(), rcpt=(address,), mail_from=ALICE)
    assert result.outcome != "nothing_new"
    relayed.send_all()
    assert "Nothing sent" not in str(_to(relay, ALICE)[-1]["Subject"])


def test_an_agent_may_repeat_words_of_the_notice_in_their_answer(
    relayed: Helpdesk, relay: Relay
) -> None:
    _, notice = _open(relayed, relay)
    own = "You wrote that the printer is on fire. Unplug it, then call 112."
    assert _reply(relayed, notice, f"{own}\n\n{_dutch_outlook(notice)}") == "agent_reply"
    relayed.send_all()
    assert own in _text(_to(relay, ANA)[-1])


# -- the conversation for agents who have not seen it ---------------------------------------


@pytest.fixture
def three_agents(relay: Relay, tmp_path: Path) -> Iterator[Helpdesk]:
    desk = make_helpdesk(
        f"sqlite:///{tmp_path / 'desk.db'}", tmp_path, OUTGOING.format(port=relay.port) + CAROL
    )
    yield desk
    desk.app.engine.dispose()


def test_an_assigned_agent_gets_the_conversation_newest_first(
    relayed: Helpdesk, relay: Relay
) -> None:
    ticket_id, notice = _open(relayed, relay)
    assert _reply(relayed, notice, "Please unplug it first.") == "agent_reply"
    relayed.deliver(compose(subject=f"Re: [ACME #{ticket_id}] x", body="Unplugged; still smokes."))
    relayed.send_all()
    assert _to(relay, "bruno@acme.example") == []  # Bruno serves Vendas: he never saw it
    assert _reply(relayed, _to(relay, ALICE)[-1], "#assign bruno@acme.example") == "commands"
    relayed.send_all()
    (assigned,) = _to(relay, "bruno@acme.example")
    text = _text(assigned)
    assert "Alice <alice@acme.example> assigned ticket" in text
    order = [text.index(s) for s in ("still smokes", "Please unplug it first.", "is on fire.")]
    assert order == sorted(order), text  # newest first
    assert "(agent)" in text and "UTC, Ana Cliente <ana@example.com>" in text
    assert "Please unplug it first." in _html(assigned)


def test_only_an_agent_new_to_the_ticket_gets_the_conversation(
    relay: Relay, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    desk = make_helpdesk(url, tmp_path, OUTGOING.format(port=relay.port))
    ticket_id, _ = _open(desk, relay)
    desk.app.engine.dispose()
    # Carol joins the Support queue; Ana writes again.
    desk = make_helpdesk(url, tmp_path, OUTGOING.format(port=relay.port) + CAROL)
    desk.deliver(compose(subject=f"Re: [ACME #{ticket_id}] x", body="Any news?"))
    desk.send_all()
    alices, carols = _text(_to(relay, ALICE)[-1]), _text(_to(relay, "carol@acme.example")[-1])
    assert "Any news?" in alices and "Any news?" in carols
    assert "Conversation so far" not in alices  # Alice had the first notice
    history = carols[carols.index("Conversation so far") :]
    assert "the printer is on fire." in history
    assert "Any news?" not in history  # the notice shows it already
    desk.app.engine.dispose()


def test_history_mails_the_whole_ticket(three_agents: Helpdesk, relay: Relay) -> None:
    desk = three_agents
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = ANA, "support@acme.example", "Printer on fire"
    mail.set_content("The printer is on fire, photo and invoice attached.")
    mail.add_attachment(b"%PDF-1.4 invoice", "application", "pdf", filename="invoice.pdf")
    ticket_id = desk.deliver(mail.as_bytes()).ticket_id
    assert ticket_id is not None
    desk.send_all()
    notice = _to(relay, ALICE)[-1]
    assert _reply(desk, notice, "#priority urgent\n#tag fire\n#assign carol@acme.example") == (
        "commands"
    )
    assert _reply(desk, notice, "#note\nCalled the fire brigade.") == "note"
    assert _reply(desk, notice, "#history") == "commands"
    desk.send_all()
    record = _to(relay, ALICE)[-1]
    assert str(record["Subject"]).endswith("History: Printer on fire")
    text = _text(record)
    for shown in (
        "The printer is on fire, photo and invoice attached.",
        "File: invoice.pdf, 16 bytes",
        "priority set to urgent",
        "tagged fire",
        "assigned to carol@acme.example",
        "(internal note):\n  Called the fire brigade.",
        "Assignee: carol@acme.example",
    ):
        assert shown in text, shown
    assert record["Reply-To"].addresses[0].addr_spec.startswith("support+")


# -- #customer: the agent's first words to a customer ---------------------------------------


def test_customer_mails_the_customer_at_once_when_the_agent_is_proven(
    relay: Relay, tmp_path: Path
) -> None:
    strict = (
        '[authentication]\nrequire_for_agents = true\ntrusted_authserv_id = "mx.acme.example"\n'
    )
    desk = make_helpdesk(
        f"sqlite:///{tmp_path / 'desk.db'}", tmp_path, OUTGOING.format(port=relay.port) + strict
    )
    mail = compose(
        sender=f"Alice <{ALICE}>",
        subject="Your quote",
        body="#customer carla@example.org\n\nHello Carla, the quote is 300 EUR.",
        headers={"Authentication-Results": "mx.acme.example; dkim=pass header.d=acme.example"},
    )
    result = desk.deliver(mail, mail_from=ALICE)
    assert result.outcome == "new_ticket" and result.ticket_id is not None
    desk.send_all()
    (sent,) = _to(relay, "carla@example.org")
    assert str(sent["From"]) == "Support <support@acme.example>"
    assert str(sent["Subject"]) == f"[ACME #{result.ticket_id}] Your quote"
    assert "Hello Carla, the quote is 300 EUR." in _text(sent)
    assert "#customer" not in _text(sent)
    ticket = desk.ticket(result.ticket_id)
    assert (ticket["customer"], ticket["status"]) == ("carla@example.org", "pending")
    # Her answer, to the address we gave her, joins the ticket.
    answer = compose(
        sender="carla@example.org",
        to=sent["Reply-To"].addresses[0].addr_spec,
        in_reply_to=str(sent["Message-ID"]).strip("<>"),
        body="Deal.",
    )
    followed = desk.deliver(answer)
    assert (followed.outcome, followed.ticket_id) == ("follow_up", result.ticket_id)
    desk.app.engine.dispose()


def test_customer_on_a_from_header_alone_sends_nothing_and_says_how(
    relayed: Helpdesk, relay: Relay
) -> None:
    mail = compose(
        sender=f"Alice <{ALICE}>",
        subject="Your quote",
        body="#customer carla@example.org\n\nHello Carla, the quote is 300 EUR.",
    )
    assert relayed.deliver(mail, mail_from=ALICE).outcome == "not_recorded"
    relayed.send_all()
    assert _to(relay, "carla@example.org") == []
    text = _text(_to(relay, ALICE)[-1])
    assert "nothing proves it is yours" in text
    assert "put support@acme.example in Cc or Bcc" in text
