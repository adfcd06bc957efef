"""Every auto-reply signal peers check, each alone on an ordinary message, and what decided."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailtickets.mail.loops import (
    AUTO_REPLY_HEADERS,
    HELPDESK_HEADERS,
    Automated,
    Verdict,
    classify,
)
from mailtickets.mail.parse import parse

#: Each signal with a value its sender really writes; the benchmark reads them too.
SIGNALS = json.loads(
    (Path(__file__).parents[2] / "data" / "autoreplies" / "signals.json").read_text("utf-8")
)
HEADER_EXAMPLES: dict[str, str] = SIGNALS["headers"]
SUBJECTS: list[str] = SIGNALS["subjects"]


def _classify(*headers: str, subject: str = "Invoice", mail_from: str | None = None) -> Verdict:
    lines = ["From: Pat Example <pat@example.org>", "To: support@acme.example", *headers]
    raw = "\n".join([*lines, f"Subject: {subject}", "", "My invoice is wrong.", ""])
    verdict = classify(parse(raw.encode()), mail_from, {"support@acme.example"}, {"acme.example"})
    assert verdict is not None
    return verdict


def test_every_signal_has_an_example() -> None:
    assert set(HEADER_EXAMPLES) == set(AUTO_REPLY_HEADERS) | set(HELPDESK_HEADERS)


@pytest.mark.parametrize("name", sorted(HEADER_EXAMPLES))
def test_each_header_alone_marks_an_auto_reply_and_is_named(name: str) -> None:
    verdict = _classify(f"{name}: {HEADER_EXAMPLES[name]}")
    assert (verdict.kind, verdict.signal) == (Automated.AUTO_REPLY, name)
    assert HEADER_EXAMPLES[name] in verdict.reason


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: no",
        "X-Autoreply: no",
        "X-Auto-Response-Suppress: DR, RN",  # asks for no receipts; a person may send that
        "X-FC-MachineGenerated: false",
        "X-FreeScout-Mail-Type: customer.message",  # a person's answer from FreeScout
        "X-OTRS-Loop: false",
        "Precedence: first-class",
    ],
)
def test_values_that_mean_a_person(header: str) -> None:
    raw = f"From: pat@example.org\n{header}\nSubject: Invoice\n\nwrong\n".encode()
    assert classify(parse(raw), None, set(), set()) is None


@pytest.mark.parametrize("header", ["List-Id: <news.example.org>", "List-Unsubscribe: <x@y.z>"])
def test_list_headers_mark_bulk(header: str) -> None:
    verdict = _classify(header)
    assert (verdict.kind, verdict.signal) == (Automated.BULK, header.split(":")[0])


@pytest.mark.parametrize("subject", SUBJECTS)
def test_auto_reply_subjects_in_many_languages(subject: str) -> None:
    verdict = _classify(subject=subject)
    assert (verdict.kind, verdict.signal) == (Automated.AUTO_REPLY, "subject")


@pytest.mark.parametrize("subject", ["Re: Automatic reply: Invoice", "About my out of office"])
def test_a_person_answering_or_mentioning_an_auto_reply_is_a_person(subject: str) -> None:
    raw = f"From: pat@example.org\nSubject: {subject}\n\nwrong\n".encode()
    assert classify(parse(raw), None, set(), set()) is None


def test_a_null_return_path_read_from_imap_is_an_auto_reply() -> None:
    verdict = _classify("Return-Path: <>")
    assert (verdict.kind, verdict.signal, verdict.reason) == (
        Automated.AUTO_REPLY,
        "sender",
        "null return path",
    )
