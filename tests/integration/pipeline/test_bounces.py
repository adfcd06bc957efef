"""Bounces of our real outgoing mail, matched to their ticket however much of it comes back.

Each test sends a real acknowledgement (rendered and written by the outbox sender), then
feeds back a bounce quoting it as a mail system would: whole, with its Message-ID rewritten,
or with only its headers. What an operator sees is the ticket's events and the suppression.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from mailtickets.db.models import Contact, IntakeStatus
from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose


def _sent_acknowledgement(helpdesk: Helpdesk, sender: str = "ana@example.com") -> tuple[int, str]:
    """A ticket opened by `sender`, and the acknowledgement as it left (CRLFs as LFs)."""
    # Written out rather than composed: the stdlib would encode a UTF-8 local part into an
    # encoded word, which no SMTPUTF8 client sends.
    request = (
        f"From: {sender}\nTo: support@acme.example\nSubject: Printer on fire\n"
        f"Message-ID: <request.{sender}>\nContent-Type: text/plain; charset=utf-8\n\n"
        "Hello, the printer is on fire.\n"
    ).encode()
    ticket_id = helpdesk.deliver(request, mail_from=sender).ticket_id
    assert ticket_id is not None
    helpdesk.send_all()
    for path in (helpdesk.app.settings.outgoing.maildir / "new").iterdir():
        raw = path.read_bytes().decode().replace("\r\n", "\n")
        # The only other mail is the agents' notice.
        if f"[ACME #{ticket_id}]" in raw and "To: alice@" not in raw:
            return ticket_id, raw
    raise AssertionError(f"no acknowledgement to {sender} was written")


def _exim_bounce(recipient: str, returned: str) -> bytes:
    return (
        "From: Mail Delivery System <Mailer-Daemon@mx1.example.org>\n"
        f"To: support@acme.example\nX-Failed-Recipients: {recipient}\n"
        "Subject: Mail delivery failed: returning message to sender\n"
        "Message-Id: <E1tHx2Q-000AbC-7f@mx1.example.org>\nAuto-Submitted: auto-replied\n\n"
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  {recipient}\n    550 5.1.1 No such user\n\n"
        "------ This is a copy of the message, including all the headers. ------\n\n"
        f"{returned}"
    ).encode()


def _without(header: str, raw: str) -> str:
    """`raw` with `header` removed, as a relay that rewrites it leaves no trace of ours."""
    return re.sub(rf"(?im)^{header}:.*\n(?:[ \t].*\n)*", "", raw)


def _suppressed(helpdesk: Helpdesk, address: str) -> str | None:
    with helpdesk.app.sessions() as session:
        contact = session.scalar(select(Contact).where(Contact.address == address))
        assert contact is not None
        return contact.suppressed_reason if contact.suppressed_at else None


def test_a_text_bounce_quoting_our_mail_is_matched_by_its_message_id(helpdesk: Helpdesk) -> None:
    ticket_id, ack = _sent_acknowledgement(helpdesk)
    result = helpdesk.deliver(_exim_bounce("ana@example.com", ack), mail_from="")
    assert (result.outcome, result.ticket_id) == ("bounce", ticket_id)
    (failed,) = helpdesk.events(ticket_id, "delivery_failed")
    assert failed.data["format"] == "mail system text"
    assert failed.data["failures"] == [
        {"recipient": "ana@example.com", "action": "failed", "status": "5.1.1"}
    ]
    assert "hard bounce" in (_suppressed(helpdesk, "ana@example.com") or "")


def test_a_rewritten_message_id_is_matched_by_our_marker(helpdesk: Helpdesk) -> None:
    ticket_id, ack = _sent_acknowledgement(helpdesk)
    returned = _without("Message-ID", _without("In-Reply-To", _without("References", ack)))
    result = helpdesk.deliver(_exim_bounce("ana@example.com", returned), mail_from="")
    assert (result.outcome, result.ticket_id) == ("bounce", ticket_id)
    (failed,) = helpdesk.events(ticket_id, "delivery_failed")
    assert failed.data["matched_by"] == "reference marker in the returned message"
    assert _suppressed(helpdesk, "ana@example.com") is not None


def test_headers_alone_are_matched_by_our_signed_reply_address(helpdesk: Helpdesk) -> None:
    ticket_id, ack = _sent_acknowledgement(helpdesk)
    headers = ack.partition("\n\n")[0]
    returned = _without("Message-ID", _without("In-Reply-To", _without("References", headers)))
    assert "Reply-To: " in returned and "[ref:" not in returned
    result = helpdesk.deliver(_exim_bounce("ana@example.com", returned + "\n"), mail_from="")
    assert (result.outcome, result.ticket_id) == ("bounce", ticket_id)
    (failed,) = helpdesk.events(ticket_id, "delivery_failed")
    assert failed.data["matched_by"] == "signed reply address in the returned message"


def test_a_bounce_for_an_address_we_never_wrote_to_suppresses_nobody(helpdesk: Helpdesk) -> None:
    ticket_id, ack = _sent_acknowledgement(helpdesk)
    helpdesk.deliver(compose(sender="bea@example.com"), mail_from="bea@example.com")
    result = helpdesk.deliver(_exim_bounce("bea@example.com", ack), mail_from="")
    assert (result.outcome, result.ticket_id) == ("bounce", ticket_id)
    assert _suppressed(helpdesk, "bea@example.com") is None


def test_a_utf8_recipient_bounced_in_rfc_6533_form_is_suppressed(helpdesk: Helpdesk) -> None:
    ticket_id, ack = _sent_acknowledgement(helpdesk, "joão@exemplo.com.br")
    headers = ack.partition("\n\n")[0]
    bounce = (
        "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
        "To: support@acme.example\nSubject: Undelivered Mail Returned to Sender\n"
        "Message-Id: <20261102100005.4Y7Q2k0hXyz@mx.example.net>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n'
        "Content-Transfer-Encoding: 8bit\n\n"
        "--b\nContent-Type: text/plain; charset=utf-8\n\nYour message was not delivered.\n\n"
        "--b\nContent-Type: message/global-delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.net\n\n"
        "Final-Recipient: utf-8; jo\\x{00E3}o@exemplo.com.br\nAction: failed\nStatus: 5.1.1\n\n"
        f"--b\nContent-Type: message/global-headers\n\n{headers}\n\n--b--\n"
    ).encode()
    result = helpdesk.deliver(bounce, mail_from="")
    assert (result.outcome, result.ticket_id) == ("bounce", ticket_id)
    (failed,) = helpdesk.events(ticket_id, "delivery_failed")
    assert failed.data["format"] == "RFC 6533 global-delivery-status"
    assert _suppressed(helpdesk, "joão@exemplo.com.br") is not None


def test_a_delay_warning_is_recorded_as_delayed_and_suppresses_nobody(helpdesk: Helpdesk) -> None:
    ticket_id, ack = _sent_acknowledgement(helpdesk)
    warning = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mail.example.net>\n"
        "To: support@acme.example\nSubject: Warning: could not send message for past 4 hours\n\n"
        "    **      THIS IS A WARNING MESSAGE ONLY      **\n\n"
        "The address to which the message has not yet been delivered is:\n\n"
        "    ana@example.com\n\nNo action is required on your part.\n\n"
        f"   ----- Original message follows -----\n\n{ack}"
    ).encode()
    result = helpdesk.deliver(warning, mail_from="")
    assert (result.outcome, result.ticket_id) == ("bounce", ticket_id)
    (delayed,) = helpdesk.events(ticket_id, "delivery_delayed")
    assert [f["action"] for f in delayed.data["failures"]] == ["delayed"]
    assert helpdesk.events(ticket_id, "delivery_failed") == []
    assert _suppressed(helpdesk, "ana@example.com") is None


def test_a_bounce_of_mail_we_never_sent_is_discarded_not_quarantined(helpdesk: Helpdesk) -> None:
    """As read from IMAP: no envelope, a Return-Path header, no From address at all."""
    bounce = (
        b"Return-Path: <>\nFrom: Mail Delivery System <>\nTo: support@acme.example\n"
        b"Subject: Delivery status notification\n\n"
        b"Delivery to the following recipients failed permanently:\n\n   * someone@example.fr\n"
    )
    result = helpdesk.deliver(bounce, mail_from=None, source="imap")
    assert (result.status, result.outcome, result.ticket_id) == (
        IntakeStatus.DISCARDED,
        "bounce",
        None,
    )
    assert helpdesk.outbox() == []


def test_an_auto_reply_on_a_ticket_says_which_signal_decided(helpdesk: Helpdesk) -> None:
    ticket_id, ack = _sent_acknowledgement(helpdesk)
    message_id = re.search(r"(?im)^Message-ID: <([^>]+)>", ack)
    assert message_id is not None
    reply = compose(
        subject="Resposta automática: Printer on fire",
        body="Estou de férias até segunda.",
        in_reply_to=message_id.group(1),
    )
    result = helpdesk.deliver(reply, mail_from="ana@example.com")
    assert (result.outcome, result.ticket_id) == ("auto_reply", ticket_id)
    (event,) = helpdesk.events(ticket_id, "message_auto")
    assert (event.data["automated"], event.data["why"]) == (
        "subject",
        "auto-reply subject 'Resposta automática: Printer on fire'",
    )
