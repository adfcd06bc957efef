"""Outgoing mail through a real relay: headers, threading round trip, outages, refusals."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import select

from mailtickets.db.models import Contact, Lease, OutboundStatus
from mailtickets.mail.parse import parse
from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose
from tests.support.relay import Relay


def _ack(relay: Relay) -> EmailMessage:
    return _to(relay, "ana@example.com")


def _to(relay: Relay, address: str) -> EmailMessage:
    (received,) = [r for r in relay.received if r.recipients == [address]]
    return received.message


def test_acknowledgement_carries_every_header_and_a_reply_threads_back(
    relayed: Helpdesk, relay: Relay
) -> None:
    result = relayed.deliver(compose(message_id="first@client.example"))
    assert relayed.send_all() == 2  # the acknowledgement and Alice's notice
    ack = _ack(relay)
    ticket_id = result.ticket_id
    assert str(ack["From"]) == "Support <support@acme.example>"
    assert str(ack["To"]) == "ana@example.com"
    assert str(ack["Subject"]) == f"[ACME #{ticket_id}] Printer on fire"
    assert str(ack["Message-ID"]).endswith("@acme.example>")
    assert str(ack["In-Reply-To"]) == "<first@client.example>"
    assert "<first@client.example>" in str(ack["References"])
    assert str(ack["Reply-To"]).startswith("Support <support+")
    assert str(ack["Auto-Submitted"]) == "auto-replied"
    assert str(ack["X-Auto-Response-Suppress"]) == "All"
    assert str(ack["X-Mailtickets-Loop"]) == "acme.example"
    assert ack.get_content_type() == "multipart/alternative"
    text = ack.get_body(("plain",))
    assert text is not None and "[ref:" in text.get_content()
    envelope_from = [r.envelope_from for r in relay.received if r.recipients == ["ana@example.com"]]
    assert envelope_from == ["support@acme.example"]  # bounces come back to us

    # The customer answers from their mail client: Reply-To, In-Reply-To, quoted text.
    reply = compose(
        to=str(ack["Reply-To"].addresses[0].addr_spec),
        subject=f"Re: {ack['Subject']}",
        in_reply_to=str(ack["Message-ID"]).strip("<>"),
        body="It works now, thanks.\n\n> " + text.get_content().replace("\n", "\n> "),
    )
    follow_up = relayed.deliver(reply, rcpt=(str(ack["Reply-To"].addresses[0].addr_spec),))
    assert (follow_up.outcome, follow_up.ticket_id) == ("follow_up", ticket_id)
    incoming = [m for m in relayed.ticket(ticket_id)["messages"] if m["direction"] == "in"]
    assert incoming[-1]["new_text"] == "It works now, thanks."


def test_the_agent_notice_has_the_agents_signed_reply_address(
    relayed: Helpdesk, relay: Relay
) -> None:
    relayed.deliver(compose())
    relayed.send_all()
    (notice,) = [r.message for r in relay.received if r.recipients == ["alice@acme.example"]]
    assert str(notice["Auto-Submitted"]) == "auto-generated"
    reply_to = notice["Reply-To"].addresses[0].addr_spec
    assert reply_to.startswith("support+") and reply_to.endswith("@acme.example")
    assert "the printer is on fire" in notice.get_body(("plain",)).get_content()


def test_relay_down_for_a_while_then_everything_is_delivered_once(
    relayed: Helpdesk, relay: Relay
) -> None:
    relay.down()
    for n in range(3):
        relayed.deliver(compose(sender=f"c{n}@example.com"))
    relayed.send_all()
    rows = relayed.outbox()
    assert {r.status for r in rows} == {OutboundStatus.PENDING}
    assert all("relay 127.0.0.1" in (r.last_error or "") for r in rows)
    # Released: a restart must not take a deferral for the lease of a crashed process.
    with relayed.app.sessions() as session:
        assert session.scalars(select(Lease)).all() == []
    assert relayed.send_all() == 0  # backing off, not hammering the relay

    relay.up()
    # The first retry waits retry_delay or four times the timeout (5 s here), the longer.
    relayed.clock.advance(timedelta(seconds=20))
    relayed.send_all()
    assert {r.status for r in relayed.outbox()} == {OutboundStatus.SENT}
    ids = [str(r.message["Message-ID"]) for r in relay.received]
    assert len(ids) == len(rows) == len(set(ids))
    # The Message-ID given when the row was written is the one that went out.
    assert sorted(ids) == sorted(f"<{r.message_id}>" for r in rows)
    relayed.clock.advance(timedelta(hours=1))
    assert relayed.send_all() == 0


def test_a_relay_down_past_the_deadline_fails_the_message(relayed: Helpdesk, relay: Relay) -> None:
    relay.down()
    relayed.deliver(compose())
    for _ in range(12):
        relayed.send_all()
        relayed.clock.advance(timedelta(minutes=20))
    statuses = {r.status for r in relayed.outbox()}
    assert statuses == {OutboundStatus.FAILED}
    assert all("gave up" in (r.last_error or "") for r in relayed.outbox())


def test_a_5xx_refusal_is_recorded_suppresses_and_tells_the_agents(
    relayed: Helpdesk, relay: Relay
) -> None:
    # Only Ana's address is refused: the same answer to everyone would be the relay's fault.
    relay.handler.rcpt_answers = {"ana@example.com": "550 5.1.1 <{address}>: user unknown"}
    ticket_id = relayed.deliver(compose()).ticket_id
    assert ticket_id is not None
    relayed.send_all()
    ack = next(r for r in relayed.outbox(ticket_id) if r.template == "customer/acknowledgement")
    assert ack.status is OutboundStatus.FAILED
    assert "5.1.1" in (ack.last_error or "")
    (failed, *_) = relayed.events(ticket_id, "delivery_failed")
    assert "user unknown" in failed.data["reason"]
    notices = [r for r in relayed.outbox(ticket_id) if r.template == "agent/delivery_failed"]
    assert [n.recipients for n in notices] == [["alice@acme.example"]]
    assert notices[0].context["failure"]["status"] == "5.1.1"
    with relayed.app.sessions() as session:
        contact = session.scalar(select(Contact).where(Contact.address == "ana@example.com"))
        assert contact is not None and contact.suppressed_at is not None
    # No more automatic mail to a suppressed address.
    relay.handler.rcpt_answers = {}
    relayed.deliver(compose(subject="another"))
    relayed.send_all()
    assert [a for r in relay.received for a in r.recipients if a != "alice@acme.example"] == []


def test_customer_text_cannot_inject_headers(relayed: Helpdesk, relay: Relay) -> None:
    # Encoded words that decode to CR/LF, and a folded line pretending to be a header.
    hostile = (
        b"From: Mallory <mallory@example.com>\r\nTo: support@acme.example\r\n"
        b"Subject: =?utf-8?q?Hi=0D=0ABcc:_victim@evil.example?=\r\n X-Evil: 1\r\n"
        b"Message-ID: <hostile@example.com>\r\n\r\nhello\r\n"
    )
    relayed.deliver(hostile)
    relayed.send_all()
    ack = _to(relay, "mallory@example.com")
    assert ack["Bcc"] is None and ack["X-Evil"] is None
    assert all(r.recipients != ["victim@evil.example"] for r in relay.received)
    assert "\n" not in str(ack["Subject"])


def test_a_restart_does_not_resend_what_was_recorded(relayed: Helpdesk, relay: Relay) -> None:
    relayed.deliver(compose())
    relayed.send_all()
    sent = len(relay.received)
    relayed.clock.advance(timedelta(days=1))
    assert relayed.send_all() == 0  # a fresh sender, as after a restart
    assert len(relay.received) == sent


def test_maildir_delivery_without_a_relay(helpdesk: Helpdesk) -> None:
    helpdesk.deliver(compose())
    assert helpdesk.send_all() == 2
    files = list((helpdesk.app.settings.outgoing.maildir / "new").iterdir())
    assert len(files) == 2
    subjects = sorted(str(parse(f.read_bytes()).subject) for f in files)
    assert any(s.startswith("[ACME #1] ") for s in subjects)


def test_a_non_ascii_address_fails_alone_and_spoils_nothing_after_it(
    relayed: Helpdesk, relay: Relay
) -> None:
    relay.down()
    relay.up(smtputf8=False)
    ticket_id = relayed.deliver(compose(sender="José <josé@example.com>")).ticket_id
    relayed.send_all()
    rows = {r.template: r for r in relayed.outbox(ticket_id)}
    ack = rows["customer/acknowledgement"]
    assert ack.status is OutboundStatus.FAILED and "5.6.7" in (ack.last_error or "")
    assert rows["agent/new_ticket"].status is OutboundStatus.SENT
    assert [r.recipients for r in relay.received if r.recipients != ["alice@acme.example"]] == []
    # The next customer is served normally on the same connection pool.
    relayed.deliver(compose())
    relayed.send_all()
    assert any(r.recipients == ["ana@example.com"] for r in relay.received)


def test_a_deferred_recipient_is_retried_alone(relayed: Helpdesk, relay: Relay) -> None:
    relay.handler.rcpt_answers = {"bia@example.com": "450 4.2.0 greylisted, try later"}
    relayed.deliver(compose(cc="bia@example.com"))
    relayed.send_all()
    (notice,) = [r for r in relayed.outbox() if r.template == "agent/new_ticket"]
    address = notice.context["reply_to"]
    answer = compose(sender="alice@acme.example", to=address, body="We are on it.")
    assert relayed.deliver(answer, rcpt=(address,)).outcome == "agent_reply"
    relayed.send_all()
    (reply,) = [r for r in relayed.outbox() if r.template == "customer/agent_reply"]
    assert (reply.status, reply.recipients) == (OutboundStatus.PENDING, ["bia@example.com"])
    relay.handler.rcpt_answers = {}
    relayed.clock.advance(timedelta(minutes=2))
    relayed.send_all()
    got = [
        r.recipients
        for r in relay.received
        if r.message["Subject"] and "We are" in r.message.get_body(("plain",)).get_content()
    ]
    # Ana had it at once; Bia, greylisted, on the retry, alone: nobody got it twice.
    assert got == [["ana@example.com"], ["bia@example.com"]]


def test_long_message_ids_are_written_as_they_are(relayed: Helpdesk, relay: Relay) -> None:
    exchange_id = (
        "BY5PR04MB6756ABCDEF0123456789" + "A" * 40 + "@BY5PR04MB6756.namprd04.prod.outlook.com"
    )
    relayed.deliver(compose(message_id=exchange_id))
    relayed.send_all()
    raw = next(r.raw for r in relay.received if r.recipients == ["ana@example.com"])
    assert f"In-Reply-To: <{exchange_id}>".encode() in raw
    assert b"=?utf-8?" not in raw.split(b"\r\n\r\n", 1)[0]
