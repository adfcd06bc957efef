"""Files on the way out: names and types another mail client can trust, and their real cost."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

import pytest

from mailtickets.mail.attachments import (
    DEFAULT_TYPE,
    MAX_NAME,
    encoded_size,
    outgoing_name,
    outgoing_type,
    shows_in_place,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ana\\Desktop\\scan.png", "scan.png"),
        ("invoice\r\nBcc: eve@evil.example.pdf", "invoice__Bcc_ eve@evil.example.pdf"),
        ("invoice\u202efdp.exe", "invoice_fdp.exe"),  # right-to-left override: "invoiceexe.pdf"
        ("zero\u200bwidth.txt", "zero_width.txt"),
        ("  .hidden  ", "hidden"),
        ("", "attachment-3.pdf"),
        ("\x00\x01\x02", "attachment-3.pdf"),
        ('say "hi" <now>.txt', "say _hi_ _now_.txt"),
        ("Relatório de março.pdf", "Relatório de março.pdf"),
    ],
)
def test_names_are_one_plain_name(name: str, expected: str) -> None:
    assert outgoing_name(name, "application/pdf", 3) == expected


def test_long_names_keep_their_extension() -> None:
    name = outgoing_name("a" * 400 + ".pdf", "application/pdf", 1)
    assert len(name) == MAX_NAME
    assert name.endswith("a.pdf")


def test_a_name_goes_into_a_header_without_adding_one() -> None:
    message = EmailMessage(policy=SMTP)
    message.set_content("x")
    hostile = outgoing_name("a\r\nBcc: eve@evil.example\r\n\r\n.pdf", "application/pdf", 1)
    message.add_attachment(b"%PDF", "application", "pdf", filename=hostile)
    raw = message.as_bytes()
    assert b"\r\nBcc:" not in raw


@pytest.mark.parametrize(
    ("declared", "sent"),
    [
        ("application/pdf", "application/pdf"),
        ("IMAGE/PNG", "image/png"),
        ("text/html", DEFAULT_TYPE),
        ("image/svg+xml", DEFAULT_TYPE),
        ("application/javascript", DEFAULT_TYPE),
        ("message/rfc822", DEFAULT_TYPE),
        ("multipart/mixed", DEFAULT_TYPE),
        ("pdf", DEFAULT_TYPE),
        ("application/pdf\r\nBcc: x@evil.example", DEFAULT_TYPE),
        ("application/pdf; name=x", DEFAULT_TYPE),
        ("", DEFAULT_TYPE),
    ],
)
def test_types_clients_would_render_or_cannot_read_go_as_bytes(declared: str, sent: str) -> None:
    assert outgoing_type(declared) == sent


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.mark.parametrize(
    ("declared", "head", "shown"),
    [
        ("image/png", PNG, True),
        ("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF", True),
        ("image/gif", b"GIF89a\x01\x00", True),
        ("image/webp", b"RIFF\x24\x00\x00\x00WEBPVP8 ", True),
        ("image/png", b"%PDF-1.7\n", False),  # a PDF that says it is a PNG
        ("image/jpeg", PNG, False),
        ("image/svg+xml", b"<svg xmlns=", False),
        ("application/pdf", PNG, False),
        ("image/png", b"", False),  # a 0-byte "image"
    ],
)
def test_only_images_that_are_what_they_claim_are_shown_in_place(
    declared: str, head: bytes, shown: bool
) -> None:
    assert shows_in_place(declared, head) is shown


@pytest.mark.parametrize("size", [0, 1, 2, 3, 56, 57, 58, 1000, 123_457, 3 * 1024 * 1024])
def test_encoded_size_is_what_the_mail_really_takes(size: int) -> None:
    part = EmailMessage(policy=SMTP)
    part.set_content(b"\xa5" * size, "application", "octet-stream")
    body = part.as_bytes().split(b"\r\n\r\n", 1)[1]
    assert encoded_size(size) == len(body)
