"""The customer's language, read from what they wrote, picks the mail they get."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

from sqlalchemy import select

from mailtickets.db.models import Contact
from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose

PORTUGUESE = (
    "Bom dia, não consigo emitir a segunda via do boleto deste mês. "
    "Já tentei pelo site e pelo aplicativo. Podem me ajudar?"
)


def _acknowledgement(helpdesk: Helpdesk, ticket_id: int) -> tuple[str, str]:
    """The acknowledgement as the customer receives it: its subject and text."""
    helpdesk.send_all()
    directory = helpdesk.app.settings.outgoing.maildir / "new"
    for path in directory.iterdir():
        mail = message_from_bytes(path.read_bytes(), policy=default)
        if f"#{ticket_id}]" in str(mail["Subject"]) and "ana@" in str(mail["To"]):
            body = mail.get_body(("plain",))
            assert body is not None
            return str(mail["Subject"]), body.get_content()
    raise AssertionError(f"no acknowledgement for ticket #{ticket_id} in {directory}")


def _locale(helpdesk: Helpdesk, address: str) -> str | None:
    with helpdesk.app.sessions() as session:
        return session.scalar(select(Contact.locale).where(Contact.address == address))


def test_a_portuguese_customer_of_an_english_queue_gets_portuguese_mail(
    helpdesk: Helpdesk,
) -> None:
    raw = compose(sender="ana@example.com", subject="Segunda via do boleto", body=PORTUGUESE)
    ticket_id = helpdesk.deliver(raw, mail_from="ana@example.com").ticket_id
    assert ticket_id is not None
    subject, text = _acknowledgement(helpdesk, ticket_id)
    assert "Olá" in text  # the pt_BR template, though support@ is an English queue
    assert "Segunda via do boleto" in subject
    assert _locale(helpdesk, "ana@example.com") == "pt_BR"


def test_the_language_once_known_stays_with_the_contact(helpdesk: Helpdesk) -> None:
    first = compose(sender="ana@example.com", subject="Boleto", body=PORTUGUESE)
    helpdesk.deliver(first, mail_from="ana@example.com")
    later = compose(
        sender="ana@example.com",
        subject="Another question",
        body="Hello, I also need the invoice for last month, in English please.",
    )
    ticket_id = helpdesk.deliver(later, mail_from="ana@example.com").ticket_id
    assert ticket_id is not None
    assert "Olá" in _acknowledgement(helpdesk, ticket_id)[1]


def test_text_too_short_to_tell_keeps_the_queues_language(helpdesk: Helpdesk) -> None:
    raw = compose(sender="ana@example.com", subject="Ajuda", body="Ajuda!")
    ticket_id = helpdesk.deliver(raw, mail_from="ana@example.com").ticket_id
    assert ticket_id is not None
    assert "Olá" not in _acknowledgement(helpdesk, ticket_id)[1]
    assert _locale(helpdesk, "ana@example.com") is None
