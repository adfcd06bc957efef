"""Real files for tests (a PNG any viewer opens, a one-page PDF) and mail that carries them,
built the way mail clients build it."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from tests.support.mail import compose


def png(width: int = 4, height: int = 3, seed: int = 0) -> bytes:
    """A valid RGB PNG; `seed` changes its pixels, so two images differ."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + bytes((x * 40 + seed) % 256 for x in range(width * 3)) for _ in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pdf(text: str = "Invoice 2026-114", padding: int = 0) -> bytes:
    """A one-page PDF; `padding` bytes of comment make it as large as a test needs."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    table = b"".join(b"%010d 00000 n \n" % o for o in offsets)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n%s" % (len(objects) + 1, table)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n" % (len(objects) + 1, xref)
    # Random-looking filler after the end, as large as asked: compressing it gains nothing.
    return out + b"%" + _filler(padding) + b"\n%%EOF\n" if padding else out + b"%%EOF\n"


def _filler(size: int) -> bytes:
    block = bytes(range(256)) * 4096
    return (block * (size // len(block) + 1))[:size]


@dataclass(frozen=True)
class File:
    name: str
    content_type: str
    content: bytes
    #: Shown in the HTML as `cid:<content_id>` (an inline image) rather than attached.
    content_id: str | None = None


def with_files(
    raw: bytes | None = None,
    files: tuple[File, ...] = (),
    html: str | None = None,
    **kwargs: object,
) -> bytes:
    """A message as `compose(**kwargs)` makes it (or `raw`), with an HTML part that shows the
    inline files and with the other files attached, as Thunderbird and Gmail send them."""
    source = raw if raw is not None else compose(**kwargs)  # type: ignore[arg-type]
    parsed = message_from_bytes(source, _class=EmailMessage, policy=default)
    assert isinstance(parsed, EmailMessage)
    text = parsed.get_content()
    parsed.set_content(text)
    inline = [f for f in files if f.content_id]
    if html is not None or inline:
        shown = "".join(f'<img src="cid:{f.content_id}" alt="{f.name}">' for f in inline)
        parsed.add_alternative(html or f"<p>{text}</p>{shown}", subtype="html")
        body = parsed.get_body(("html",))
        assert isinstance(body, EmailMessage)
        for file in inline:
            maintype, _, subtype = file.content_type.partition("/")
            body.add_related(
                file.content,
                maintype,
                subtype,
                cid=f"<{file.content_id}>",
                disposition="inline",
                filename=file.name,
            )
    for file in files:
        if not file.content_id:
            maintype, _, subtype = file.content_type.partition("/")
            parsed.add_attachment(file.content, maintype, subtype, filename=file.name)
    return parsed.as_bytes()
