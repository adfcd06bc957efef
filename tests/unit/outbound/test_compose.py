"""Composing: a human's answer looks human, and files join a message the same way every time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest

from mailtickets.outbound.charts import InlineImage
from mailtickets.outbound.compose import (
    Composed,
    OutgoingFile,
    address,
    compose,
    with_files,
)
from mailtickets.outbound.render import Rendered

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def _message(
    template: str,
    html: str | None = "<p>Hello <img src='cid:shot.1@m'></p>",
    images: tuple[InlineImage, ...] = (),
) -> bytes:
    return compose(
        template=template,
        rendered=Rendered(subject="Printer", text="Hello", html=html),
        tag="[ACME #1]",
        marker="[ref:1]",
        sender=address("support@acme.example", "Support"),
        recipients=["ana@example.com"],
        message_id="mt.1.abc@acme.example",
        date=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        loop_domain="acme.example",
        images=images,
    )


def _with_files(raw: bytes, files: list[OutgoingFile]) -> bytes:
    return bytes(with_files(raw, files))


def _parse(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


FILES = [
    OutgoingFile("shot.png", "image/png", PNG, inline=True, cid="shot.1@m"),
    OutgoingFile("report.pdf", "application/pdf", b"%PDF-1.7\n", inline=False, cid="r.2@m"),
    OutgoingFile("empty.txt", "text/plain", b"", inline=False, cid="e.3@m"),
]


def test_a_relayed_answer_is_not_auto_submitted_but_keeps_the_loop_header() -> None:
    human = _parse(_message("customer/agent_reply"))
    assert human["Auto-Submitted"] is None
    assert human["X-Mailtickets-Loop"] == "acme.example"
    assert human["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    for template in ("customer/resolved", "agent/new_ticket"):
        assert _parse(_message(template))["Auto-Submitted"] == "auto-generated"
    assert _parse(_message("customer/acknowledgement"))["Auto-Submitted"] == "auto-replied"


def test_images_go_in_place_and_files_attached() -> None:
    message = _parse(_with_files(_message("agent/new_ticket"), FILES))
    assert message.get_content_type() == "multipart/mixed"
    alternative, pdf, empty = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    _, related = alternative.iter_parts()
    assert related.get_content_type() == "multipart/related"
    html, image = related.iter_parts()
    assert "cid:shot.1@m" in html.get_content()
    assert image["Content-ID"] == "<shot.1@m>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == PNG
    assert (pdf.get_filename(), pdf.get_content_type(), pdf.get_content()) == (
        "report.pdf",
        "application/pdf",
        b"%PDF-1.7\n",
    )
    assert (empty.get_filename(), empty.get_content_disposition()) == ("empty.txt", "attachment")
    assert empty.get_payload(decode=True) == b""


def test_the_same_message_and_files_give_the_same_bytes() -> None:
    raw = _message("agent/new_ticket")
    assert _with_files(raw, FILES) == _with_files(raw, FILES)
    assert with_files(raw, []) == raw


def test_images_join_the_charts_beside_the_html() -> None:
    chart = InlineImage(cid="volume.chart@mailtickets", png=PNG)
    message = _parse(_with_files(_message("agent/daily_digest", images=(chart,)), FILES[:1]))
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    ids = [p["Content-ID"] for p in related.iter_parts()][1:]
    assert ids == ["<volume.chart@mailtickets>", "<shot.1@m>"]


def test_without_html_an_image_is_attached() -> None:
    message = _parse(_with_files(_message("agent/new_ticket", html=None), FILES[:1]))
    assert message.get_content_type() == "multipart/mixed"
    _, image = message.iter_parts()
    assert image.get_content_disposition() == "attachment"
    assert image.get_filename() == "shot.png"


def test_files_are_base64_in_lines_of_76_as_rfc_2045_wants() -> None:
    blob = OutgoingFile("blob.bin", "application/octet-stream", bytes(range(256)) * 40, False, "b")
    raw = _with_files(_message("agent/new_ticket"), [blob])
    body = raw.split(b'filename="blob.bin"\r\n', 1)[1].split(b"\r\n--", 1)[0]
    lines = [line for line in body.split(b"\r\n") if line and b":" not in line]
    assert lines and max(len(line) for line in lines) == 76


@dataclass(frozen=True)
class _InPieces:
    """A file's bytes given as the database gives them: in pieces, read at each iteration."""

    data: bytes
    piece: int

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[bytes]:
        for at in range(0, len(self.data), self.piece):
            yield self.data[at : at + self.piece]


@pytest.mark.parametrize("size", [0, 1, 56, 57, 58, 171, 57 * 16 * 1024 + 5, 3_000_001])
def test_a_file_in_pieces_is_written_as_the_same_bytes_of_the_declared_length(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    raw = _message("agent/new_ticket")
    whole = OutgoingFile("a.bin", "application/octet-stream", data, False, "a")
    pieces = OutgoingFile("a.bin", "application/octet-stream", _InPieces(data, 65_536), False, "a")
    composed = with_files(raw, [pieces])
    assert isinstance(composed, Composed)
    written = list(composed.pieces())
    assert b"".join(written) == bytes(with_files(raw, [whole])) == bytes(composed)
    # SMTP's SIZE is declared from the length before a byte of the file is read.
    assert len(composed) == len(b"".join(written))
    # Each piece starts a line, so that each can be dot-stuffed on its own.
    assert all(piece.endswith(b"\n") for piece in written[:-1])
    part = _parse(bytes(composed)).get_payload()[1]
    assert part.get_payload(decode=True) == data
