"""Hostile and broken input: each message is stored, then processed or quarantined with a
clear reason; the worker keeps going. Runs on SQLite and on PostgreSQL, which refuses NUL
bytes and over-long values that SQLite would swallow."""

from __future__ import annotations

import base64
import random

import pytest

from mailtickets.db.models import IntakeStatus
from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose

TERMINAL = {IntakeStatus.DONE, IntakeStatus.QUARANTINED, IntakeStatus.DISCARDED}


def _nested(depth: int) -> bytes:
    head = "From: deep@example.com\nTo: support@acme.example\nSubject: deep\nMIME-Version: 1.0\n"
    lines = [head]
    for level in range(depth):
        lines.append(f'Content-Type: multipart/mixed; boundary="b{level}"\n\n--b{level}\n')
    lines.append("Content-Type: text/plain\n\nbottom\n")
    lines.extend(f"--b{level}--\n" for level in reversed(range(depth)))
    return "".join(lines).encode()


def _huge_attachment(size: int) -> bytes:
    payload = base64.encodebytes(b"\x89PNG" + b"x" * size).decode()
    return (
        "From: big@example.com\nTo: support@acme.example\nSubject: screenshot\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\nsee attached\n"
        '--B\nContent-Type: image/png; name="screen.png"\n'
        'Content-Disposition: attachment; filename="../../screen.png"\n'
        f"Content-Transfer-Encoding: base64\n\n{payload}--B--\n"
    ).encode()


CASES = {
    "garbage": bytes(random.Random(7).randrange(256) for _ in range(20_000)),
    "zero bytes": b"",
    "nul bytes": compose(subject="nul\x00here", body="before\x00after\n").replace(
        b"before", b"bef\x00ore"
    ),
    "megabyte header": compose(subject="x" * 1_000_000),
    "10,000 nested parts": _nested(10_000),
    "invalid utf-8 everywhere": (
        b"From: \xff\xfe <odd@example.com>\nSubject: \xc3\x28\n\n\xf0\x28\x8c\x28"
    ),
    "only headers": b"From: a@example.com\nSubject: nothing else",
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_message_is_processed_or_quarantined(any_helpdesk: Helpdesk, name: str) -> None:
    result = any_helpdesk.deliver(CASES[name], mail_from="sender@example.com")
    assert result.status in TERMINAL, result
    if result.status is IntakeStatus.QUARANTINED:
        assert result.error, "a quarantined message must say why"
    if result.ticket_id is not None:
        ticket = any_helpdesk.ticket(result.ticket_id)
        assert len(ticket["subject"]) <= 998
        assert all("\x00" not in m["new_text"] for m in ticket["messages"])
    # The worker goes on: the next customer is served.
    assert any_helpdesk.deliver(compose()).outcome == "new_ticket"


def test_empty_message_is_quarantined_with_its_reason(helpdesk: Helpdesk) -> None:
    result = helpdesk.deliver(b"")
    assert (result.status, result.error) == (
        IntakeStatus.QUARANTINED,
        "empty message (0 bytes of content)",
    )


def test_a_50_mb_message_keeps_a_note_instead_of_the_oversized_file(
    any_helpdesk: Helpdesk,
) -> None:
    result = any_helpdesk.deliver(_huge_attachment(50 * 1024 * 1024))
    assert result.outcome == "new_ticket" and result.ticket_id is not None
    message = any_helpdesk.ticket(result.ticket_id)["messages"][0]
    (attachment,) = message["attachments"]
    assert attachment["filename"] == "screen.png"  # no path climbing out of the store
    assert attachment["size"] > 50 * 1024 * 1024
    assert attachment["omitted"] == "larger than 1048576 bytes"
    (ack,) = [o for o in any_helpdesk.outbox(result.ticket_id) if o.template.startswith("customer")]
    assert ack.context["omitted_attachments"] == ["screen.png"]
