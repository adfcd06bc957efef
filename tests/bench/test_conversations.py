"""The threading corpus holds the cases it claims, and its writers keep what each kind keeps."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from bench.clients import Mail, own_mail, write
from bench.corpus import CONVERSATION_MIX, QUEUE, Turn, conversations

OURS = Mail(
    message_id="ack-1@acme.example",
    subject="[ACME #7] Ajuda",
    sender="Support <support@acme.example>",
    date=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
    text="Hello Ana,\n\nThank you for contacting us. We have received your request and opened\n"
    "ticket #7:\n\n  Ajuda\n\nBest regards,\nSupport\n\n[ref:7.abcdef]\n",
    reply_to="support+token@acme.example",
)


def _parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def test_the_same_seed_gives_the_same_corpus() -> None:
    assert conversations(300) == conversations(300)
    assert conversations(300) != conversations(300, seed=12)


def test_every_kind_occurs_and_generic_subjects_repeat_across_and_within_customers() -> None:
    turns = conversations(1000)
    assert set(Counter(t.kind for t in turns)) == set(CONVERSATION_MIX)
    generic = [t for t in turns if t.kind == "new" and t.generic]
    by_subject = Counter(t.subject for t in generic)
    assert max(by_subject.values()) > 3  # the same few generic subjects, many customers
    per_customer = Counter((t.customer, t.subject) for t in generic)
    assert max(per_customer.values()) > 1  # one customer asking for "Help" twice
    assert {t.portuguese for t in turns} == {True, False}


def _turn(kind: str, number: int = 3) -> Turn:
    return Turn(number, kind, 0, "ana@example.com", "Ana", True, "Ajuda", True, "Ainda não.")


def test_a_bare_reply_quotes_the_top_of_our_mail_without_any_reference() -> None:
    # A Gmail-style writer (Outlook's quoted header block would name the ticket).
    written = write(_turn("reply_bare_quoted", number=4), OURS, None)
    assert written is not None and written.rcpt == QUEUE
    message = _parsed(written.raw)
    assert message["Subject"] == "Re: Ajuda"
    assert message["In-Reply-To"] is None and message["References"] is None
    body = message.get_content()
    assert "Thank you for contacting us" in body
    assert "[ref:" not in body and "#7" not in body


def test_replies_keep_the_headers_their_kind_keeps() -> None:
    expected = {
        "reply_to_reply_address": ("support+token@acme.example", True, True),
        "reply_threaded": (QUEUE, True, True),
        "reply_references_only": (QUEUE, False, True),
        "reply_in_reply_to_only": (QUEUE, True, False),
        "reply_tag_only": (QUEUE, False, False),
        "auto_reply": (QUEUE, True, False),
        "auto_reply_tag_only": (QUEUE, False, False),
    }
    for kind, (rcpt, in_reply_to, references) in expected.items():
        written = write(_turn(kind), OURS, None)
        assert written is not None and written.rcpt == rcpt, kind
        message = _parsed(written.raw)
        assert (message["In-Reply-To"] is not None) is in_reply_to, kind
        assert (message["References"] is not None) is references, kind
        assert "[ACME #7]" in message["Subject"], kind


def test_a_follow_up_answers_the_customers_own_mail() -> None:
    first = Turn(0, "new", 0, "ana@example.com", "Ana", True, "Ajuda", True, "Minha senha.")
    written = write(_turn("follow_up_own_bare"), None, own_mail(first))
    assert written is not None
    body = _parsed(written.raw).get_content()
    assert "> Minha senha." in body or "Minha senha." in body.split("\n\n", 2)[-1]
    assert write(_turn("follow_up_own"), None, None) is None  # nothing of their own yet
