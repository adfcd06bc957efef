"""read_bounce() on one bounce of each kind, written here after what each mail system sends."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtickets.mail.dsn import RFC3464, RFC6533, TEXT, Bounce, read_bounce
from mailtickets.mail.loops import Automated, classify
from mailtickets.mail.parse import parse

DATA = Path(__file__).parents[2] / "data"
OUR_ID = "mt.7.{}aabbccddeeff.0123456789abcdef@acme.example"

#: file → (format, [(failed address, action, status)], original Message-ID, delayed)
EXPECTED: dict[str, tuple[str, list[tuple[str, str, str]], str | None, bool]] = {
    "bounces/postfix-smtputf8.eml": (
        RFC6533,
        [("joão.silva@exemplo.com.br", "failed", "5.1.1")],
        OUR_ID.format("0011"),
        False,
    ),
    "bounces/exim-text.eml": (
        TEXT,
        [("pat.gone@example.org", "failed", "5.1.1")],
        OUR_ID.format("0022"),
        False,
    ),
    "bounces/qmail-text.eml": (
        TEXT,
        [("sam.nobody@example.com", "failed", "5.1.1")],
        OUR_ID.format("0033"),
        False,
    ),
    "bounces/yahoo-text.eml": (
        TEXT,
        [("kim.closed@yahoo.example", "failed", "5.0.0")],
        OUR_ID.format("0044"),
        False,
    ),
    "bounces/postfix-text.eml": (
        TEXT,
        [("lee.absent@example.org", "failed", "5.1.1")],
        OUR_ID.format("0055"),
        False,
    ),
    "bounces/exchange-text-ndr.eml": (
        TEXT,
        [("chris.left@corp.example.com", "failed", "5.0.0")],
        None,
        False,
    ),
    "bounces/sendmail-warning.eml": (
        TEXT,
        [("robin.slow@example.net", "delayed", "4.0.0")],
        None,
        True,
    ),
    "corpus/postfix-bounce.eml": (
        RFC3464,
        [("ghost.user@example.org", "failed", "5.1.1")],
        "bounced-original-1@acme.example",
        False,
    ),
    "corpus/exchange-bounce.eml": (
        RFC3464,
        [("cliente.antigo@exemplo.com.br", "failed", "5.1.1")],
        "bounced-original-2@acme.example",
        False,
    ),
    "corpus/gmail-bounce.eml": (
        RFC3464,
        [("nao.existe@gmail.example", "failed", "5.1.1")],
        "bounced-original-3@acme.example",
        False,
    ),
    "corpus/postfix-delayed.eml": (
        RFC3464,
        [("financeiro@exemplo.com.br", "delayed", "4.4.1")],
        "bounced-original-4@acme.example",
        True,
    ),
}


def _read(name: str, mail_from: str | None = None) -> Bounce:
    bounce = read_bounce(parse((DATA / name).read_bytes()), mail_from)
    assert bounce is not None, name
    return bounce


def test_every_written_bounce_is_listed() -> None:
    written = {f"bounces/{p.name}" for p in (DATA / "bounces").glob("*.eml")}
    assert written <= set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_kind_of_bounce_says_who_failed_and_which_message(name: str) -> None:
    kind, failures, original, delayed = EXPECTED[name]
    bounce = _read(name)
    assert bounce.format == kind
    assert [(f.recipient, f.action, f.status) for f in bounce.failures] == failures
    assert bounce.original_message_id == original
    assert (bounce.delayed, bounce.permanent) == (delayed, not delayed)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_bounce_is_never_acknowledged_whatever_the_envelope(name: str) -> None:
    for mail_from in (None, "", "mailer-daemon@mx.example.net"):
        verdict = classify(parse((DATA / name).read_bytes()), mail_from, set(), set())
        assert verdict is not None
        assert (verdict.kind, verdict.signal) == (Automated.BOUNCE, "bounce")


def test_the_returned_copy_carries_our_marker_and_reply_address() -> None:
    assert "[ref:7.0123456789ab]" in _read("bounces/exim-text.eml").returned_text
    qmail = _read("bounces/qmail-text.eml").returned_text
    assert "support+7.0.0.00112233445566aa@acme.example" in qmail


def _text_mail(sender: str, subject: str, body: str) -> bytes:
    return f"From: {sender}\nTo: support@acme.example\nSubject: {subject}\n\n{body}".encode()


QMAIL_BODY = (
    "Hi. This is the qmail-send program at mail.example.com.\n"
    "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
    "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
    "<sam.nobody@example.com>:\nSorry, no mailbox here by that name. (#5.1.1)\n"
)


def test_a_customer_forwarding_a_bounce_is_a_customer() -> None:
    raw = _text_mail("Pat <pat@example.org>", "Fwd: failure notice", "Why?\n\n" + QMAIL_BODY)
    assert read_bounce(parse(raw), "pat@example.org") is None
    assert classify(parse(raw), "pat@example.org", set(), set()) is None


def test_a_person_writing_about_an_undeliverable_parcel_is_a_person() -> None:
    raw = _text_mail("Pat <pat@example.org>", "Undeliverable parcel", "It came back to you.\n")
    assert read_bounce(parse(raw), "pat@example.org") is None


def test_a_robots_mail_that_reports_no_failure_is_no_bounce() -> None:
    raw = _text_mail("postmaster@example.net", "Your mailbox quota", "You use 80%.\n")
    assert read_bounce(parse(raw), None) is None
    verdict = classify(parse(raw), None, set(), set())
    assert verdict is not None
    assert (verdict.kind, verdict.signal) == (Automated.AUTO_REPLY, "sender")


def test_a_bounce_subject_from_a_mail_system_is_a_bounce_even_when_it_names_nobody() -> None:
    raw = _text_mail("MAILER-DAEMON@mx.example.net", "Returned mail: see transcript", "?\n")
    bounce = read_bounce(parse(raw), "")
    assert bounce is not None
    assert (bounce.failures, bounce.permanent, bounce.delayed) == ((), False, False)


def test_a_bounce_returning_megabytes_is_read_from_its_report() -> None:
    """The detectors see each part cut to its start (whole, they took 20 s for 5 MB)."""
    returned = "From: support@acme.example\nSubject: big\n\n" + "a b c <x@y.example>:\n" * 250_000
    raw = (
        "From: MAILER-DAEMON@mx.example.net\nSubject: Undeliverable\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
        "Delivery to the following recipient failed permanently:\n\n   gone@example.net\n\n"
        f"--b\nContent-Type: message/rfc822\n\n{returned}--b--\n"
    )
    bounce = read_bounce(parse(raw.encode()), "")
    assert bounce is not None
    assert [f.recipient for f in bounce.failures] == ["gone@example.net"]
