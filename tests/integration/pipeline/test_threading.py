"""Threading: each rule of DESIGN.md, in order, and the traps around them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from mailtickets.db.models import Agent, Contact, IntakeStatus, TicketStatus
from mailtickets.mail.tokens import marker, reply_token
from tests.support.cli import SECRET as TEXT_SECRET
from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose

SECRET = TEXT_SECRET.encode()


def _open_ticket(helpdesk: Helpdesk, **kwargs: object) -> int:
    result = helpdesk.deliver(compose(**kwargs))  # type: ignore[arg-type]
    assert result.outcome == "new_ticket", result
    assert result.ticket_id is not None
    return result.ticket_id


def _set_status(helpdesk: Helpdesk, ticket_id: int, status: TicketStatus) -> None:
    """Alice sets the status by mail, as agents do."""
    result = helpdesk.agent_says(ticket_id, f"#status {status.value}")
    assert result.outcome == "commands", result
    assert helpdesk.ticket(ticket_id)["status"] == status.value


def test_new_mail_opens_a_ticket_with_a_clean_subject(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk, subject="RES: ENC: Fwd: Impressora parada")
    ticket = helpdesk.ticket(ticket_id)
    assert ticket["subject"] == "Impressora parada"
    assert ticket["status"] == "open"
    assert ticket["customer"] == "ana@example.com"
    (message, ack) = ticket["messages"]
    assert message["kind"] == "customer" and message["direction"] == "in"
    assert message["author"] == "Ana Cliente <ana@example.com>"
    assert ack["direction"] == "out" and ack["template"] == "customer/acknowledgement"


def test_reply_to_our_acknowledgement_threads_by_its_message_id(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk)
    (ack,) = [o for o in helpdesk.outbox(ticket_id) if o.template == "customer/acknowledgement"]
    reply = compose(subject="Re: Printer on fire", in_reply_to=ack.message_id, body="Still on fire")
    result = helpdesk.deliver(reply)
    assert (result.outcome, result.ticket_id) == ("follow_up", ticket_id)


def test_reply_to_the_reply_address_threads_without_any_header(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk)
    (ack,) = [o for o in helpdesk.outbox(ticket_id) if o.template == "customer/acknowledgement"]
    address = ack.context["reply_to"]
    assert address.startswith("support+") and address.endswith("@acme.example")
    result = helpdesk.deliver(compose(to=address, subject="totally new subject"), rcpt=(address,))
    assert (result.outcome, result.ticket_id) == ("follow_up", ticket_id)


def test_references_to_the_customers_own_message_thread(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk, message_id="first@client.example")
    reply = compose(subject="one more thing", references=["first@client.example"])
    assert helpdesk.deliver(reply).ticket_id == ticket_id


def test_outlook_reply_without_in_reply_to_threads_by_subject_tag(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk)
    reply = compose(subject=f"RE: [ACME #{ticket_id}] Printer on fire", body="Any news?")
    result = helpdesk.deliver(reply)
    assert (result.outcome, result.ticket_id) == ("follow_up", ticket_id)


def test_rewritten_message_ids_still_thread_by_the_body_marker(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk)
    quoted = f"Thanks!\n\n> Your request was received.\n> {marker(SECRET, ticket_id)}\n"
    reply = compose(
        subject="Re: something else", in_reply_to="rewritten@relay.example", body=quoted
    )
    result = helpdesk.deliver(reply)
    assert (result.outcome, result.ticket_id) == ("follow_up", ticket_id)


def test_a_stranger_copying_a_subject_tag_opens_their_own_ticket(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk)
    intruder = compose(sender="eve@evil.example", subject=f"Re: [ACME #{ticket_id}] give me data")
    result = helpdesk.deliver(intruder)
    assert result.outcome == "new_ticket" and result.ticket_id != ticket_id
    assert result.ticket_id is not None
    (created,) = helpdesk.events(result.ticket_id, "created")
    assert created.data["ignored_ticket"] == ticket_id
    assert "participants do not include the sender" in created.data["why"]
    assert [
        m["author"] for m in helpdesk.ticket(ticket_id)["messages"] if m["direction"] == "in"
    ] == ["Ana Cliente <ana@example.com>"]


def test_a_stranger_copying_a_marker_opens_their_own_ticket(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk)
    intruder = compose(sender="eve@evil.example", body=f"hi {marker(SECRET, ticket_id)}")
    result = helpdesk.deliver(intruder)
    assert result.outcome == "new_ticket" and result.ticket_id != ticket_id


def test_a_forged_marker_is_ignored(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk)
    forged = compose(subject="hello", body=f"[ref:{ticket_id}.000000000000]")
    result = helpdesk.deliver(forged)
    assert result.outcome == "new_ticket" and result.ticket_id != ticket_id


def test_a_forwarded_thread_opens_a_ticket_and_keeps_the_forwarded_text(helpdesk: Helpdesk) -> None:
    body = (
        "Please help with the message below.\n\n"
        "---------- Forwarded message ---------\n"
        "From: Boss <boss@example.com>\nDate: Mon, 2 Nov 2026\nSubject: invoice\n\n"
        "The invoice total is wrong.\n"
    )
    result = helpdesk.deliver(compose(subject="Fwd: invoice", body=body))
    assert result.outcome == "new_ticket" and result.ticket_id is not None
    ticket = helpdesk.ticket(result.ticket_id)
    assert ticket["subject"] == "invoice"
    assert "The invoice total is wrong." in ticket["messages"][0]["new_text"]


def test_reply_strips_quoted_history_but_keeps_the_full_body(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk, message_id="q1@client.example")
    body = (
        "Sim, ainda acontece.\n\n"
        "Em seg., 2 de nov. de 2026 às 10:00, Suporte <support@acme.example> escreveu:\n"
        "> Pode tentar de novo?\n"
    )
    helpdesk.deliver(compose(in_reply_to="q1@client.example", body=body))
    incoming = [m for m in helpdesk.ticket(ticket_id)["messages"] if m["direction"] == "in"]
    assert incoming[-1]["new_text"] == "Sim, ainda acontece."


def test_reply_reopens_resolved_and_pending_tickets(helpdesk: Helpdesk) -> None:
    for status in (TicketStatus.RESOLVED, TicketStatus.PENDING):
        ticket_id = _open_ticket(helpdesk)
        _set_status(helpdesk, ticket_id, status)
        helpdesk.deliver(compose(subject=f"Re: [ACME #{ticket_id}] x"))
        assert helpdesk.ticket(ticket_id)["status"] == "open"
        (reopened,) = helpdesk.events(ticket_id, "reopened")
        assert reopened.data == {"previous": status.value}


def test_reply_to_a_closed_ticket_within_grace_reopens_it(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk)
    _set_status(helpdesk, ticket_id, TicketStatus.CLOSED)
    helpdesk.clock.advance(timedelta(days=6))
    result = helpdesk.deliver(compose(subject=f"Re: [ACME #{ticket_id}] x"))
    assert (result.outcome, result.ticket_id) == ("follow_up", ticket_id)
    assert helpdesk.ticket(ticket_id)["status"] == "open"


def test_reply_to_a_ticket_closed_past_grace_opens_a_linked_ticket(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk, message_id="old@client.example")
    _set_status(helpdesk, ticket_id, TicketStatus.CLOSED)
    helpdesk.clock.advance(timedelta(days=8))
    result = helpdesk.deliver(compose(subject="Re: Printer", in_reply_to="old@client.example"))
    assert result.outcome == "new_ticket" and result.ticket_id != ticket_id
    assert result.ticket_id is not None
    assert helpdesk.ticket(result.ticket_id)["linked_ticket"] == ticket_id
    assert helpdesk.ticket(ticket_id)["status"] == "closed"


def test_the_same_message_to_two_support_addresses_is_one_ticket(helpdesk: Helpdesk) -> None:
    raw = compose(to="support@acme.example, vendas@acme.example", message_id="both@client.example")
    first = helpdesk.deliver(raw, rcpt=("support@acme.example",))
    # The MTA delivers a copy per recipient, each with its own Delivered-To.
    copy = b"Delivered-To: vendas@acme.example\n" + raw
    second = helpdesk.deliver(copy, rcpt=("vendas@acme.example",))
    identical = helpdesk.deliver(raw, rcpt=("vendas@acme.example",))
    assert first.outcome == "new_ticket"
    assert (second.status, second.outcome) == (IntakeStatus.DUPLICATE, "duplicate")
    assert identical.intake_id == first.intake_id  # same bytes: one intake row
    assert len(helpdesk.intake()) == 2


def test_bcc_to_a_support_address_lands_in_its_queue(helpdesk: Helpdesk) -> None:
    raw = compose(to="colleague@example.com", subject="Orçamento")
    result = helpdesk.deliver(raw, rcpt=("vendas@acme.example",))
    assert result.ticket_id is not None
    assert helpdesk.ticket(result.ticket_id)["queue"] == "vendas@acme.example"


def test_an_alias_and_a_plus_address_land_in_their_queue(helpdesk: Helpdesk) -> None:
    for rcpt in ("help@acme.example", "vendas+brasil@acme.example"):
        result = helpdesk.deliver(compose(to=rcpt), rcpt=(rcpt,))
        assert result.ticket_id is not None
        expected = "support@acme.example" if rcpt.startswith("help") else "vendas@acme.example"
        assert helpdesk.ticket(result.ticket_id)["queue"] == expected


def test_copied_addresses_become_participants_but_never_ours(helpdesk: Helpdesk) -> None:
    raw = compose(cc="Bia <bia@example.com>, help@acme.example, alice@acme.example")
    ticket_id = helpdesk.deliver(raw).ticket_id
    assert ticket_id is not None
    participants = {p["address"]: p["role"] for p in helpdesk.ticket(ticket_id)["participants"]}
    assert participants == {"ana@example.com": "requester", "bia@example.com": "cc"}
    # A participant may thread by the subject tag.
    reply = compose(sender="bia@example.com", subject=f"Re: [ACME #{ticket_id}] x")
    assert helpdesk.deliver(reply).ticket_id == ticket_id


def _agent_id(helpdesk: Helpdesk, address: str) -> int:
    with helpdesk.app.sessions() as session:
        agent_id = session.scalar(select(Agent.id).where(Agent.address == address))
    assert agent_id is not None
    return agent_id


def test_an_agent_replying_on_their_reply_address_is_an_agent_reply(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk)
    (notice,) = [o for o in helpdesk.outbox(ticket_id) if o.recipients == ["alice@acme.example"]]
    address = notice.context["reply_to"]
    reply = compose(sender="Alice <alice@acme.example>", to=address, body="On it.")
    result = helpdesk.deliver(reply, rcpt=(address,))
    assert (result.outcome, result.ticket_id) == ("agent_reply", ticket_id)
    ticket = helpdesk.ticket(ticket_id)
    assert ticket["status"] == "pending"
    assert [m["kind"] for m in ticket["messages"] if m["direction"] == "in"] == [
        "customer",
        "agent",
    ]


def test_a_forged_agent_from_on_an_agent_address_is_not_an_agent_reply(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk)
    alice = _agent_id(helpdesk, "alice@acme.example")
    expires = helpdesk.clock.now() + timedelta(days=1)
    address = f"support+{reply_token(SECRET, ticket_id, alice, expires)}@acme.example"
    forged = compose(sender="bruno@acme.example", to=address, body="#status closed")
    result = helpdesk.deliver(forged, rcpt=(address,))
    assert result.outcome != "agent_reply"
    assert helpdesk.ticket(ticket_id)["status"] == "open"


def test_an_expired_or_tampered_agent_token_is_not_honoured(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk)
    alice = _agent_id(helpdesk, "alice@acme.example")
    expired = reply_token(SECRET, ticket_id, alice, helpdesk.clock.now() - timedelta(days=2))
    tampered = reply_token(SECRET, ticket_id, alice, helpdesk.clock.now() + timedelta(days=2))
    tampered = tampered[:-1] + ("0" if tampered[-1] != "0" else "1")
    for token in (expired, tampered):
        address = f"support+{token}@acme.example"
        result = helpdesk.deliver(compose(sender="alice@acme.example", to=address), rcpt=(address,))
        # It names no ticket then, and an agent's address is never a new customer.
        assert (result.outcome, result.ticket_id) == ("not_recorded", None)
    told = [o for o in helpdesk.outbox() if o.recipients == ["alice@acme.example"]]
    assert [o.template for o in told[-2:]] == ["agent/not_recorded"] * 2


def test_auto_reply_to_a_ticket_is_kept_without_acknowledgement(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk)
    (ack,) = [o for o in helpdesk.outbox(ticket_id) if o.template == "customer/acknowledgement"]
    _set_status(helpdesk, ticket_id, TicketStatus.PENDING)
    before = len(helpdesk.outbox())
    ooo = compose(
        subject="Out of office",
        in_reply_to=ack.message_id,
        headers={"Auto-Submitted": "auto-replied"},
    )
    result = helpdesk.deliver(ooo)
    assert (result.outcome, result.ticket_id) == ("auto_reply", ticket_id)
    kinds = [m["kind"] for m in helpdesk.ticket(ticket_id)["messages"] if m["direction"] == "in"]
    assert kinds == ["customer", "auto"]
    assert helpdesk.ticket(ticket_id)["status"] == "pending"
    assert len(helpdesk.outbox()) == before


def test_auto_reply_to_nothing_is_discarded_and_never_acknowledged(helpdesk: Helpdesk) -> None:
    result = helpdesk.deliver(compose(headers={"Precedence": "bulk"}))
    assert (result.status, result.outcome, result.ticket_id) == (
        IntakeStatus.DISCARDED,
        "bulk",
        None,
    )
    assert helpdesk.outbox() == []


def test_a_bounce_is_recorded_on_the_ticket_whose_mail_bounced(helpdesk: Helpdesk) -> None:
    ticket_id = _open_ticket(helpdesk)
    (ack,) = [o for o in helpdesk.outbox(ticket_id) if o.template == "customer/acknowledgement"]
    dsn = (
        "From: MAILER-DAEMON@relay.example\nTo: support@acme.example\n"
        "Subject: Undelivered Mail Returned to Sender\nMessage-ID: <dsn-1@relay.example>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
        "--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; relay.example\n\n"
        "Final-Recipient: rfc822; ana@example.com\nAction: failed\nStatus: 5.1.1\n\n"
        f"--b\nContent-Type: text/rfc822-headers\n\nMessage-ID: <{ack.message_id}>\n"
        "Subject: ack\n\n--b--\n"
    ).encode()
    result = helpdesk.deliver(dsn, mail_from="")
    assert (result.outcome, result.ticket_id) == ("bounce", ticket_id)
    (failed,) = helpdesk.events(ticket_id, "delivery_failed")
    assert failed.data["failures"] == [
        {"recipient": "ana@example.com", "action": "failed", "status": "5.1.1"}
    ]
    templates = [o.template for o in helpdesk.outbox(ticket_id)]
    assert "agent/delivery_failed" in templates


def test_acknowledgements_are_rate_limited_per_sender(helpdesk: Helpdesk) -> None:
    for n in range(5):
        helpdesk.deliver(compose(subject=f"flood {n}"))
    acks = [o for o in helpdesk.outbox() if o.template == "customer/acknowledgement"]
    assert len(acks) == 3  # max_acknowledgements_per_hour in the test config
    assert len(helpdesk.intake(IntakeStatus.DONE)) == 5  # every message still became a ticket
    other = helpdesk.deliver(compose(sender="zoe@example.org"))
    assert other.ticket_id is not None
    # The limit is Ana's alone: Zoe is acknowledged (agents' notices are no acknowledgement).
    assert [
        o.recipients
        for o in helpdesk.outbox(other.ticket_id)
        if o.template == "customer/acknowledgement"
    ] == [["zoe@example.org"]]
    helpdesk.clock.advance(timedelta(hours=1, seconds=1))
    helpdesk.deliver(compose(subject="an hour later"))
    acks = [o for o in helpdesk.outbox() if o.template == "customer/acknowledgement"]
    assert len(acks) == 5


def test_agents_of_the_queue_are_notified_until_someone_is_assigned(helpdesk: Helpdesk) -> None:
    result = helpdesk.deliver(compose(to="vendas@acme.example"), rcpt=("vendas@acme.example",))
    ticket_id = result.ticket_id
    notices = [o.recipients for o in helpdesk.outbox(ticket_id) if o.template.startswith("agent/")]
    # Alice serves every queue; Bruno only Vendas.
    assert sorted(notices) == [["alice@acme.example"], ["bruno@acme.example"]]


def test_a_message_without_message_id_is_stored_once(helpdesk: Helpdesk) -> None:
    raw = compose(message_id=None)
    first = helpdesk.deliver(raw, source="smtp")
    again = helpdesk.deliver(raw, source="import")
    assert first.outcome == "new_ticket"
    assert again.outcome == "duplicate"


def test_the_same_message_id_with_other_bytes_is_a_duplicate(helpdesk: Helpdesk) -> None:
    helpdesk.deliver(compose(message_id="same@client.example", body="one"))
    result = helpdesk.deliver(compose(message_id="same@client.example", body="two"))
    assert result.outcome == "duplicate"


def test_a_forged_delivery_report_suppresses_nobody(helpdesk: Helpdesk) -> None:
    helpdesk.deliver(compose(sender="victim@example.org", subject="real customer"))
    ticket_id = _open_ticket(helpdesk, sender="eve@evil.example", message_id="x@evil.example")
    forged = (
        b"From: MAILER-DAEMON@evil.example\nTo: support@acme.example\nSubject: failure\n"
        b"Message-ID: <forged-dsn@evil.example>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        b"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; evil.example\n\n"
        b"Final-Recipient: rfc822; victim@example.org\nAction: failed\nStatus: 5.1.1\n\n"
        b"--b\nContent-Type: text/rfc822-headers\n\nMessage-ID: <x@evil.example>\n\n--b--\n"
    )
    result = helpdesk.deliver(forged, mail_from="")
    assert (result.outcome, result.ticket_id) == ("bounce", ticket_id)
    with helpdesk.app.sessions() as session:
        victim = session.scalar(select(Contact).where(Contact.address == "victim@example.org"))
        assert victim is not None and victim.suppressed_at is None


def test_mail_from_the_null_return_path_is_never_acknowledged(helpdesk: Helpdesk) -> None:
    result = helpdesk.deliver(compose(sender="robot@example.com"), mail_from="")
    assert result.status is IntakeStatus.DISCARDED
    assert helpdesk.outbox() == []


def _delayed_report(message_id: str, recipient: str, n: int) -> bytes:
    return (
        f"From: MAILER-DAEMON@relay.example\nTo: support@acme.example\nSubject: delayed\n"
        f"Message-ID: <delay-{n}@relay.example>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; relay.example\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: delayed\nStatus: 4.4.1\n\n"
        f"--b\nContent-Type: text/rfc822-headers\n\nMessage-ID: <{message_id}>\n\n--b--\n"
    ).encode()


def _suppressed(helpdesk: Helpdesk, address: str) -> bool:
    with helpdesk.app.sessions() as session:
        contact = session.scalar(select(Contact).where(Contact.address == address))
        assert contact is not None
        return contact.suppressed_at is not None


def test_repeated_soft_bounces_suppress_unless_the_customer_writes_between(
    helpdesk: Helpdesk,
) -> None:
    ticket_id = _open_ticket(helpdesk)
    (ack,) = [o for o in helpdesk.outbox(ticket_id) if o.template == "customer/acknowledgement"]
    for n in range(2):
        helpdesk.deliver(_delayed_report(ack.message_id, "ana@example.com", n), mail_from="")
    assert not _suppressed(helpdesk, "ana@example.com")
    # Ana writes: mail reaches her after all, so the count starts again.
    helpdesk.deliver(compose(subject=f"Re: [ACME #{ticket_id}] x", body="hello?"))
    for n in range(2, 4):
        helpdesk.deliver(_delayed_report(ack.message_id, "ana@example.com", n), mail_from="")
    assert not _suppressed(helpdesk, "ana@example.com")
    helpdesk.deliver(_delayed_report(ack.message_id, "ana@example.com", 4), mail_from="")
    assert _suppressed(helpdesk, "ana@example.com")


def test_the_customers_language_picks_the_templates(helpdesk: Helpdesk) -> None:
    raw = compose(headers={"Content-Language": "pt-BR"})
    ticket_id = helpdesk.deliver(raw).ticket_id
    (ack,) = [o for o in helpdesk.outbox(ticket_id) if o.template == "customer/acknowledgement"]
    assert ack.locale == "pt_BR"  # the queue is English; Ana writes Portuguese
