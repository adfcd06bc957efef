"""Threading a reply that carries no reference (DESIGN.md's rules 1-3 all miss): the sender's
own ticket with the same subject, with the quote as evidence, never another customer's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailtickets.mail.parse import parse
from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose

ANSWER = "Please restart the printer and tell us what the display says after that."
GMAIL = "On Mon, 2 Nov 2026 at 10:00, Support <support@acme.example> wrote:\n"
GMAIL_PT = "Em seg., 2 de nov. de 2026 às 09:00, Ana Cliente <ana@example.com> escreveu:\n"


def _quoting(text: str, attribution: str = GMAIL, reply: str = "It says E42.") -> str:
    """A reply written above a quote of `text`, as Gmail writes one (rewrapped at 40)."""
    words, lines, line = text.split(), [], ""
    for word in words:
        if len(line) + len(word) > 40:
            lines.append(line)
            line = ""
        line = f"{line} {word}".strip()
    quoted = "".join(f"> {part}\n" for part in [*lines, line])
    return f"{reply}\n\n{attribution}{quoted}"


def _open(helpdesk: Helpdesk, **kwargs: str) -> int:
    result = helpdesk.deliver(compose(**kwargs))
    assert result.outcome == "new_ticket" and result.ticket_id is not None, result
    return result.ticket_id


def _templates(helpdesk: Helpdesk, ticket_id: int, since: int) -> list[tuple[str, list[str]]]:
    """The mail queued about the ticket after the first `since` rows of the outbox."""
    return [
        (o.template, o.recipients) for o in helpdesk.outbox()[since:] if o.ticket_id == ticket_id
    ]


def _matched_by(helpdesk: Helpdesk, ticket_id: int) -> str | None:
    """What the ticket's history says threaded its last customer message."""
    event = helpdesk.events(ticket_id, "message_customer")[-1]
    return event.data.get("matched_by")


def test_a_reply_without_references_joins_the_senders_ticket_by_subject_and_quote(
    any_helpdesk: Helpdesk,
) -> None:
    helpdesk = any_helpdesk
    ticket_id = _open(helpdesk)
    assert helpdesk.agent_says(ticket_id, ANSWER).outcome == "agent_reply"
    (answer,) = [m for m in helpdesk.ticket(ticket_id)["messages"] if m["kind"] == "agent"]
    sent = len(helpdesk.outbox())
    # A webmail client that dropped In-Reply-To, the tag and the marker at the quote's end.
    reply = compose(subject="Re: Printer on fire", body=_quoting(ANSWER))
    result = helpdesk.deliver(reply)
    assert (result.outcome, result.ticket_id) == ("follow_up", ticket_id)
    assert _matched_by(helpdesk, ticket_id) == f"subject and quote of <{answer['message_id']}>"
    ticket = helpdesk.ticket(ticket_id)
    assert ticket["status"] == "open"  # the agent's answer had made it pending
    customer = [m["new_text"] for m in ticket["messages"] if m["kind"] == "customer"]
    assert customer == ["Hello,\n\nthe printer is on fire.\n\nAna", "It says E42."]
    # Ana is not acknowledged again; Alice, whose ticket it now is, hears of the reply.
    assert _templates(helpdesk, ticket_id, sent) == [
        ("agent/customer_replied", ["alice@acme.example"])
    ]


def test_a_new_mail_with_re_and_the_subject_joins_the_senders_ticket(
    any_helpdesk: Helpdesk,
) -> None:
    helpdesk = any_helpdesk
    ticket_id = _open(any_helpdesk)
    result = helpdesk.deliver(compose(subject="RE: printer ON FIRE", body="Any news?"))
    assert (result.outcome, result.ticket_id) == ("follow_up", ticket_id)
    assert _matched_by(helpdesk, ticket_id) == "subject of the sender's ticket"


def test_another_customers_ticket_is_never_joined_by_subject(helpdesk: Helpdesk) -> None:
    ana = _open(helpdesk)
    helpdesk.agent_says(ana, ANSWER)
    # Zoe has the same subject and even quotes Ana's answer (forwarded to her, say).
    zoe = compose(
        sender="Zoe <zoe@example.org>", subject="Re: Printer on fire", body=_quoting(ANSWER)
    )
    result = helpdesk.deliver(zoe)
    assert result.outcome == "new_ticket" and result.ticket_id not in (None, ana)
    assert result.ticket_id is not None
    assert helpdesk.ticket(result.ticket_id)["customer"] == "zoe@example.org"
    assert [
        o.recipients
        for o in helpdesk.outbox(result.ticket_id)
        if o.template == "customer/acknowledgement"
    ] == [["zoe@example.org"]]
    authors = [m["author"] for m in helpdesk.ticket(ana)["messages"] if m["kind"] == "customer"]
    assert authors == ["Ana Cliente <ana@example.com>"]


def test_a_generic_subject_without_a_quote_opens_a_new_ticket(any_helpdesk: Helpdesk) -> None:
    helpdesk = any_helpdesk
    first = _open(helpdesk, subject="Ajuda", body="Minha senha não funciona.")
    result = helpdesk.deliver(compose(subject="Re: Ajuda", body="O boleto veio duplicado."))
    assert result.outcome == "new_ticket" and result.ticket_id not in (None, first)
    assert result.ticket_id is not None
    acks = [
        o for o in helpdesk.outbox(result.ticket_id) if o.template == "customer/acknowledgement"
    ]
    assert [o.recipients for o in acks] == [["ana@example.com"]]
    (created,) = helpdesk.events(result.ticket_id, "created")
    assert created.data["ignored_ticket"] == first
    assert created.data["why"] == (
        "same subject as the sender's ticket, but the subject is too generic to join "
        "without a quote of it"
    )


def test_a_generic_subject_quoting_the_ticket_joins_the_one_it_quotes(
    any_helpdesk: Helpdesk,
) -> None:
    helpdesk = any_helpdesk
    older = _open(helpdesk, subject="Ajuda", body="Minha senha não funciona desde ontem à noite.")
    newer = _open(helpdesk, subject="Ajuda", body="O boleto de novembro veio duplicado.")
    helpdesk.deliver(compose(sender="zoe@example.org", subject="Ajuda", body="Outro assunto."))
    # Ana answers her own first mail from her Sent folder, in a client that drops headers.
    body = _quoting(
        "Minha senha não funciona desde ontem à noite.",
        attribution=GMAIL_PT,
        reply="Já consegui entrar, obrigada.",
    )
    result = helpdesk.deliver(compose(subject="RES: Ajuda", body=body))
    assert (result.outcome, result.ticket_id) == ("follow_up", older)
    (first,) = [m for m in helpdesk.ticket(older)["messages"] if m["direction"] == "in"][:1]
    assert _matched_by(helpdesk, older) == f"subject and quote of <{first['message_id']}>"
    assert [m["kind"] for m in helpdesk.ticket(newer)["messages"] if m["direction"] == "in"] == [
        "customer"
    ]


def test_between_two_tickets_quoting_the_same_words_the_attribution_time_decides(
    any_helpdesk: Helpdesk,
) -> None:
    helpdesk = any_helpdesk
    same = "Thanks, I tried that but it still fails."
    older = _open(helpdesk, body="The printer on the first floor is on fire.")
    newer = _open(helpdesk, body="Now the one on the second floor is on fire too.")
    for ticket_id, hour in ((older, 10), (newer, 11)):
        written = datetime(2026, 11, 2, hour, 12 + hour, tzinfo=UTC)
        tagged = compose(
            subject=f"Re: [ACME #{ticket_id}] Printer on fire", body=same, date=written
        )
        assert helpdesk.deliver(tagged).ticket_id == ticket_id
    first = [m for m in helpdesk.ticket(older)["messages"] if m["kind"] == "customer"][-1]
    # Ana answers her own 10:22 mail (shown at 07:22 in her zone) from a client that drops
    # the headers: the same words stand on both tickets, the time only on the older one's.
    attribution = "Em 02/11/2026 às 07:22, Ana Cliente <ana@example.com> escreveu:\n"
    body = _quoting(same, attribution=attribution, reply="Still nothing.")
    result = helpdesk.deliver(compose(subject="Re: Printer on fire", body=body))
    assert (result.outcome, result.ticket_id) == ("follow_up", older)
    assert _matched_by(helpdesk, older) == f"subject and quote of <{first['message_id']}>"


def test_a_quote_of_our_acknowledgement_joins_its_ticket(helpdesk: Helpdesk) -> None:
    ticket_id = _open(helpdesk, subject="Help", body="My account is locked.")
    other = _open(helpdesk, subject="Help", body="And the invoice is wrong.")
    helpdesk.send_all()
    (ack,) = [o for o in helpdesk.outbox(ticket_id) if o.template == "customer/acknowledgement"]
    assert ack.raw is not None
    text = parse(ack.raw).text
    # A phone client quotes the top of it only: no ticket number, no marker.
    top = "\n".join(text.split("\n")[:3])
    assert f"#{ticket_id}" not in top and "Thank you for contacting us" in top
    body = _quoting(top, reply="Still locked.")
    result = helpdesk.deliver(compose(subject="Re: Help", body=body))
    # The quote is the same for both acknowledgements: the most recently active ticket wins.
    assert (result.outcome, result.ticket_id) == ("follow_up", other)
    (ack,) = [o for o in helpdesk.outbox(other) if o.template == "customer/acknowledgement"]
    assert _matched_by(helpdesk, other) == f"subject and quote of <{ack.message_id}>"


def test_a_quote_naming_the_ticket_number_joins_it_without_our_mail(helpdesk: Helpdesk) -> None:
    # Before the acknowledgement was rendered, or once retention purged its bytes.
    ticket_id = _open(helpdesk, subject="Help", body="My account is locked.")
    acknowledgement = (
        "Hello Ana Cliente,\n\nThank you for contacting us. We have received your request "
        f"and opened\nticket #{ticket_id}:\n\n  Help\n"
    )
    body = _quoting(acknowledgement, reply="I also cannot reset the password.")
    result = helpdesk.deliver(compose(subject="Re: Help", body=body))
    assert (result.outcome, result.ticket_id) == ("follow_up", ticket_id)
    assert _matched_by(helpdesk, ticket_id) == f"subject and quote of its number #{ticket_id}"


def test_a_quote_of_something_else_opens_a_new_ticket(helpdesk: Helpdesk) -> None:
    ticket_id = _open(helpdesk)
    body = _quoting("The quarterly report is due on Friday, please send the figures.")
    result = helpdesk.deliver(compose(subject="Re: Printer on fire", body=body))
    assert result.outcome == "new_ticket" and result.ticket_id != ticket_id
    assert result.ticket_id is not None
    (created,) = helpdesk.events(result.ticket_id, "created")
    assert created.data["ignored_ticket"] == ticket_id
    assert "quotes none of that ticket's messages" in created.data["why"]


def test_a_new_request_with_the_same_subject_is_a_new_ticket(helpdesk: Helpdesk) -> None:
    first = _open(helpdesk)
    result = helpdesk.deliver(compose(body="Now the second printer is on fire too."))
    assert result.outcome == "new_ticket" and result.ticket_id != first


def test_a_ticket_resolved_within_reopen_grace_is_joined_and_reopened(
    any_helpdesk: Helpdesk,
) -> None:
    helpdesk = any_helpdesk
    ticket_id = _open(helpdesk)
    helpdesk.agent_says(ticket_id, f"#status resolved\n{ANSWER}")
    assert helpdesk.ticket(ticket_id)["status"] == "resolved"
    helpdesk.clock.advance(timedelta(days=6))  # reopen_grace is 7 days in the test config
    result = helpdesk.deliver(compose(subject="Re: Printer on fire", body="It is back."))
    assert (result.outcome, result.ticket_id) == ("follow_up", ticket_id)
    assert helpdesk.ticket(ticket_id)["status"] == "open"
    (reopened,) = helpdesk.events(ticket_id, "reopened")
    assert reopened.data == {"previous": "resolved"}


def test_a_ticket_resolved_longer_ago_than_reopen_grace_is_not_joined(
    any_helpdesk: Helpdesk,
) -> None:
    helpdesk = any_helpdesk
    ticket_id = _open(helpdesk)
    helpdesk.agent_says(ticket_id, f"#status resolved\n{ANSWER}")
    helpdesk.clock.advance(timedelta(days=8))
    result = helpdesk.deliver(compose(subject="Re: Printer on fire", body=_quoting(ANSWER)))
    assert result.outcome == "new_ticket" and result.ticket_id not in (None, ticket_id)
    assert helpdesk.ticket(ticket_id)["status"] == "resolved"
    assert result.ticket_id is not None
    acks = [
        o for o in helpdesk.outbox(result.ticket_id) if o.template == "customer/acknowledgement"
    ]
    assert [o.recipients for o in acks] == [["ana@example.com"]]
