"""classify() and read_bounce() on the corpus and on messages built header by header."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from mailtickets.mail.addresses import normalise
from mailtickets.mail.dsn import Bounce, read_bounce
from mailtickets.mail.loops import Automated, Verdict, classify
from mailtickets.mail.parse import ParsedMail, parse

CORPUS_DIR = Path(__file__).parents[2] / "data" / "corpus"
MANIFEST: dict[str, dict[str, Any]] = json.loads(
    (CORPUS_DIR / "manifest.json").read_text(encoding="utf-8")
)
NAMES = sorted(MANIFEST)
BOUNCES = [name for name in NAMES if MANIFEST[name]["kind"] == "bounce"]
OWN_ADDRESSES = frozenset({"support@acme.example"})
OWN_DOMAINS = frozenset({"acme.example"})

# Manifest kind → verdicts that are right for it (auto replies and bulk are both "never
# acknowledge"; the corpus does not tell them apart consistently).
ACCEPTED: dict[str, set[Automated | None]] = {
    "new": {None},
    "reply": {None},
    "forward": {None},
    "auto_reply": {Automated.AUTO_REPLY, Automated.BULK},
    "bulk": {Automated.AUTO_REPLY, Automated.BULK},
    "bounce": {Automated.BOUNCE},
    "own_mail": {Automated.OWN},
}
FAILED_RECIPIENTS = {
    "exchange-bounce.eml": "cliente.antigo@exemplo.com.br",
    "gmail-bounce.eml": "nao.existe@gmail.example",
    "postfix-bounce.eml": "ghost.user@example.org",
    "postfix-delayed.eml": "financeiro@exemplo.com.br",
}


@functools.cache
def _corpus(name: str) -> ParsedMail:
    return parse((CORPUS_DIR / name).read_bytes())


def _classify(mail: ParsedMail, mail_from: str | None = None) -> Verdict | None:
    return classify(mail, mail_from, OWN_ADDRESSES, OWN_DOMAINS)


def _kind(verdict: Verdict | None) -> Automated | None:
    return verdict.kind if verdict else None


def _envelope_sender(mail: ParsedMail) -> str | None:
    """What the MTA recorded as MAIL FROM, as Return-Path shows it ("" for <>)."""
    value = mail.header("Return-Path")
    return None if value is None else normalise(value)


def _mail(*headers: str, body: str = "Hello, my invoice is wrong.\n") -> ParsedMail:
    lines = ["From: Pat Example <pat@example.org>", "To: support@acme.example", *headers]
    if not any(h.lower().startswith("subject:") for h in headers):
        lines.append("Subject: Invoice")
    return parse(("\n".join(lines) + "\n\n" + body).encode())


# --- the corpus --------------------------------------------------------------------------


def test_every_manifest_kind_is_covered() -> None:
    assert {entry["kind"] for entry in MANIFEST.values()} == set(ACCEPTED)


@pytest.mark.parametrize("name", NAMES)
def test_corpus_verdict_with_unknown_envelope(name: str) -> None:
    verdict = _classify(_corpus(name), None)
    assert _kind(verdict) in ACCEPTED[MANIFEST[name]["kind"]]
    if verdict is not None:
        assert verdict.reason


@pytest.mark.parametrize("name", NAMES)
def test_corpus_verdict_with_envelope_from_return_path(name: str) -> None:
    mail = _corpus(name)
    assert _kind(_classify(mail, _envelope_sender(mail))) in ACCEPTED[MANIFEST[name]["kind"]]


@pytest.mark.parametrize("name", NAMES)
def test_only_bounces_read_as_bounces(name: str) -> None:
    mail = _corpus(name)
    bounce = read_bounce(mail, _envelope_sender(mail))
    assert (bounce is not None) == (MANIFEST[name]["kind"] == "bounce")


# --- header by header --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected", "reason_contains"),
    [
        ((), None, None),
        (("Auto-Submitted: no",), None, None),
        (("Auto-Submitted: No",), None, None),
        # RFC 3834 allows a comment (CFWS) after the keyword.
        (("Auto-Submitted: no (sent by a person)",), None, None),
        (("Auto-Submitted: auto-generated",), Automated.AUTO_REPLY, "Auto-Submitted"),
        (("Auto-Submitted: auto-replied",), Automated.AUTO_REPLY, "Auto-Submitted"),
        (("Auto-Submitted: Auto-Replied; owner-email=x@example.org",), Automated.AUTO_REPLY, None),
        (("Auto-Submitted: auto-notified",), Automated.AUTO_REPLY, "Auto-Submitted"),
        (("X-Autoreply: yes",), Automated.AUTO_REPLY, "X-Autoreply"),
        (("X-Autorespond: vacation",), Automated.AUTO_REPLY, "X-Autorespond"),
        (("Precedence: auto_reply",), Automated.AUTO_REPLY, "auto_reply"),
        (("Precedence: junk",), Automated.BULK, "junk"),
        (("Precedence: bulk",), Automated.BULK, "bulk"),
        (("Precedence: BULK",), Automated.BULK, "bulk"),
        (("Precedence: list",), Automated.BULK, "list"),
        (("Precedence: first-class",), None, None),
        (("List-Id: Developers <devs.lists.example.net>",), Automated.BULK, "List-Id"),
        (("List-Unsubscribe: <mailto:leave@lists.example.net>",), Automated.BULK, "List-Unsub"),
        # An auto reply that is also bulk is an auto reply.
        (("Precedence: bulk", "Auto-Submitted: auto-replied"), Automated.AUTO_REPLY, None),
    ],
)
def test_automation_headers(
    headers: tuple[str, ...], expected: Automated | None, reason_contains: str | None
) -> None:
    verdict = _classify(_mail(*headers))
    assert _kind(verdict) is expected
    if reason_contains is not None:
        assert verdict is not None
        assert reason_contains in verdict.reason


@pytest.mark.parametrize(
    ("mail_from", "expected"),
    [
        ("", Automated.AUTO_REPLY),  # null return path: <>
        (None, None),  # envelope unknown (e.g. read from IMAP), and no Return-Path header
        ("pat@example.org", None),
    ],
)
def test_null_return_path_versus_unknown(mail_from: str | None, expected: Automated | None) -> None:
    verdict = _classify(_mail(), mail_from)
    assert _kind(verdict) is expected
    if verdict is not None:
        assert "null return path" in verdict.reason


def test_return_path_header_stands_for_an_unknown_envelope() -> None:
    verdict = _classify(_mail("Return-Path: <>"), None)
    assert verdict is not None
    assert (verdict.kind, verdict.signal, verdict.reason) == (
        Automated.AUTO_REPLY,
        "sender",
        "null return path",
    )
    # Over SMTP the envelope is known, and a Return-Path header the sender wrote means nothing.
    assert _classify(_mail("Return-Path: <>"), "pat@example.org") is None


@pytest.mark.parametrize(
    "from_header",
    [
        "From: MAILER-DAEMON@mx.example.org",
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>",
        "From: mailer-daemon@googlemail.com (Mail Delivery Subsystem)",
        "From: postmaster@example.net",
    ],
)
def test_robot_senders(from_header: str) -> None:
    mail = parse(f"{from_header}\nSubject: Your mailbox quota\n\nsee below\n".encode())
    verdict = _classify(mail, None)
    assert _kind(verdict) is Automated.AUTO_REPLY
    assert verdict is not None
    assert mail.from_address is not None
    assert mail.from_address in verdict.reason


@pytest.mark.parametrize(
    "from_header", ["From: Mailer Daemon Fan <daemon.fan@example.org>", "From: post@example.org"]
)
def test_people_with_similar_addresses_are_human(from_header: str) -> None:
    mail = parse(f"{from_header}\nSubject: hi\n\nhello\n".encode())
    assert _classify(mail, None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("other.example", Automated.AUTO_REPLY),
        ("helpdesk.example.net", Automated.AUTO_REPLY),
        ("acme.example", Automated.OWN),
        (" ACME.Example ", Automated.OWN),
        ("mail.acme.example", Automated.AUTO_REPLY),
    ],
)
def test_loop_header(value: str, expected: Automated) -> None:
    verdict = _classify(_mail(f"X-Mailtickets-Loop: {value}"))
    assert _kind(verdict) is expected
    assert verdict is not None
    assert "X-Mailtickets-Loop" in verdict.reason


@pytest.mark.parametrize(
    "from_header",
    [
        "From: support@acme.example",
        "From: ACME Support <Support@ACME.example>",
    ],
)
def test_mail_from_our_own_address(from_header: str) -> None:
    mail = parse(f"{from_header}\nSubject: Re: [ACME #1] x\n\nanswer\n".encode())
    assert _kind(_classify(mail)) is Automated.OWN


def test_a_colleague_at_our_domain_is_human() -> None:
    mail = parse(b"From: Dana <dana@acme.example>\nSubject: printer\n\nbroken\n")
    assert _classify(mail) is None


def _forward_with_quoted_headers(*quoted_headers: str) -> ParsedMail:
    quoted = "\n".join(
        [
            "From: ACME Support <support@acme.example>",
            "Subject: [ACME #7] Received",
            *quoted_headers,
        ]
    )
    raw = (
        "From: Pat Example <pat@example.org>\nTo: support@acme.example\n"
        "Subject: Fwd: [ACME #7] Received\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="q"\n\n'
        "--q\nContent-Type: text/plain\n\nSee the mail below, it is wrong.\n"
        "--q\nContent-Type: message/rfc822\n\n"
        f"{quoted}\n\nWe received your request.\n"
        "--q--\n"
    )
    return parse(raw.encode())


@pytest.mark.parametrize(
    "quoted_headers",
    [
        ("X-Mailtickets-Loop: acme.example",),
        ("X-Mailtickets-Loop: other.example",),
        ("Auto-Submitted: auto-replied", "Precedence: bulk", "List-Id: <x.example.net>"),
    ],
)
def test_headers_inside_a_quoted_message_do_not_count(quoted_headers: tuple[str, ...]) -> None:
    mail = _forward_with_quoted_headers(*quoted_headers)
    assert mail.message.get_content_type() == "multipart/mixed"
    assert _classify(mail) is None


def test_delivery_report_is_a_bounce_before_anything_else() -> None:
    raw = (
        "From: Pat Example <pat@example.org>\nSubject: Undeliverable\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type="Delivery-Status"; boundary="r"\n\n'
        "--r\nContent-Type: text/plain\n\nNot delivered.\n"
        "--r\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: rfc822; gone@example.org\nAction: failed\nStatus: 5.1.1\n"
        "--r--\n"
    )
    assert _kind(_classify(parse(raw.encode()))) is Automated.BOUNCE


def test_read_receipt_report_is_not_a_delivery_report() -> None:
    raw = (
        "From: Pat Example <pat@example.org>\nSubject: Read: x\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="r"\n\n'
        "--r\nContent-Type: text/plain\n\nRead.\n--r--\n"
    )
    assert read_bounce(parse(raw.encode())) is None


# --- delivery status notifications ------------------------------------------------------


def test_failed_recipients_cover_every_corpus_bounce() -> None:
    assert set(FAILED_RECIPIENTS) == set(BOUNCES)


def _bounce(mail: ParsedMail) -> Bounce:
    bounce = read_bounce(mail)
    assert bounce is not None
    return bounce


@pytest.mark.parametrize("name", BOUNCES)
def test_bounced_message_id(name: str) -> None:
    assert _bounce(_corpus(name)).original_message_id == MANIFEST[name]["bounced_message_id"]


@pytest.mark.parametrize("name", BOUNCES)
def test_bounce_type(name: str) -> None:
    assert MANIFEST[name]["bounce_type"] in ("hard", "soft")
    bounce = _bounce(_corpus(name))
    assert bounce.permanent == (MANIFEST[name]["bounce_type"] == "hard")
    assert bounce.delayed == (MANIFEST[name]["bounce_type"] == "soft")


@pytest.mark.parametrize("name", BOUNCES)
def test_failed_recipient(name: str) -> None:
    failures = _bounce(_corpus(name)).failures
    assert [f.recipient for f in failures] == [FAILED_RECIPIENTS[name]]
    failure = failures[0]
    if MANIFEST[name]["bounce_type"] == "hard":
        assert (failure.action, failure.status[:1], failure.permanent) == ("failed", "5", True)
    else:
        assert (failure.action, failure.status[:1], failure.permanent) == ("delayed", "4", False)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in BOUNCES])
def test_other_mail_is_no_bounce(name: str) -> None:
    assert read_bounce(_corpus(name)) is None


def _report(*blocks: str, returned: str = "") -> ParsedMail:
    status = "\n\n".join(["Reporting-MTA: dns; mx.example.org", *blocks])
    raw = (
        "From: MAILER-DAEMON@mx.example.org\nSubject: Undelivered\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\n\n'
        "--r\nContent-Type: text/plain\n\nNot delivered.\n"
        f"--r\nContent-Type: message/delivery-status\n\n{status}\n"
        + (f"--r\nContent-Type: text/rfc822-headers\n\n{returned}\n" if returned else "")
        + "--r--\n"
    )
    return parse(raw.encode())


def test_several_recipients_one_permanent() -> None:
    bounce = _bounce(
        _report(
            "Final-Recipient: rfc822; Slow@Example.org\nAction: delayed\nStatus: 4.4.1",
            "Original-Recipient: rfc822;<gone@example.org>\nAction: Failed\n"
            "Status: 5.1.1 (user unknown)",
            returned="Message-ID: <mt.7.abc@acme.example>\nSubject: x",
        )
    )
    assert [(f.recipient, f.action, f.status) for f in bounce.failures] == [
        ("slow@example.org", "delayed", "4.4.1"),
        ("gone@example.org", "failed", "5.1.1"),
    ]
    assert bounce.permanent
    assert bounce.original_message_id == "mt.7.abc@acme.example"


def test_report_without_recipients_or_original_is_still_a_bounce() -> None:
    bounce = _bounce(_report())
    assert (bounce.original_message_id, bounce.failures, bounce.permanent) == (None, (), False)
