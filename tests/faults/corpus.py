"""A generator of malformed and malicious messages, each named for what it tries.

Deterministic (seeded), so a failure names a message that can be made again:
`python -m tests.faults.corpus DIR` writes them as .eml files for a look.
"""

from __future__ import annotations

import base64
import io
import random
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

#: Addresses and markers only hostile input carries: found in our output, they mean harm.
INJECTED = "injected@evil.example"
SCRIPT = '<script>alert("pwned")</script>'
IMG = '<img src=x onerror="alert(1)">'
LINK = '<a href="javascript:alert(1)">click</a>'
#: Where path-traversal names would land if they were ever used as paths.
TRAVERSAL_TARGET = "mailtickets-faults-escaped"

HEAD = "From: Eve <eve@attacker.example>\r\nTo: support@acme.example\r\nMIME-Version: 1.0\r\n"


def _simple(subject: str, body: str, headers: str = "") -> bytes:
    return (HEAD + headers + f"Subject: {subject}\r\n\r\n{body}\r\n").encode(
        "utf-8", "surrogateescape"
    )


def _multipart(parts: list[str], subject: str, boundary: str = "XYZ") -> bytes:
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return (
        HEAD + f"Subject: {subject}\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n{body}'
    ).encode("utf-8", "surrogateescape")


def _attachment(
    filename_header: str, payload: bytes, kind: str = "application/octet-stream"
) -> str:
    encoded = base64.encodebytes(payload).decode()
    return (
        f"Content-Type: {kind}\r\nContent-Disposition: attachment; {filename_header}\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}"
    )


def _zip_bomb(levels: int, size: int) -> bytes:
    data = b"\0" * size
    name = "zeros.bin"
    for level in range(levels):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(name, data)
        data, name = buffer.getvalue(), f"layer{level}.zip"
    return data


def _broken_mime() -> Iterator[tuple[str, bytes]]:
    text = "Content-Type: text/plain\r\n\r\nhello"
    yield (
        "multipart without boundary",
        (HEAD + "Subject: nb\r\nContent-Type: multipart/mixed\r\n\r\n--X\r\nhello\r\n").encode(),
    )
    yield "boundary never closed", _multipart([text, text], "open")[:-9]
    yield (
        "boundary that never appears",
        (
            HEAD + 'Subject: gone\r\nContent-Type: multipart/mixed; boundary="nope"\r\n\r\nbody\r\n'
        ).encode(),
    )
    yield "empty boundary", _multipart([text], "empty", boundary="")
    yield "part without headers", _multipart(["\r\njust text", ""], "bare")
    yield "content-type garbage", _simple("ct", "x", "Content-Type: ;;;===\x7f/\r\n")
    yield (
        "message/rfc822 that is not a message",
        (HEAD + "Subject: rfc822\r\nContent-Type: message/rfc822\r\n\r\n\x00\x01\x02").encode(),
    )
    yield "truncated mid-header", HEAD.encode()[:40]
    yield "header without colon", b"From eve@attacker.example\r\nnot a header\r\n\r\nbody\r\n"
    yield "only a body", b"\r\n\r\nHello, no headers at all\r\n"


def _nesting() -> Iterator[tuple[str, bytes]]:
    depth = 500
    inner = "Content-Type: text/plain\r\n\r\nbottom\r\n"
    for level in range(depth):
        inner = f"Content-Type: message/rfc822\r\n\r\nSubject: level {level}\r\n{inner}"
    yield "500 nested message/rfc822", (HEAD + "Subject: deep rfc822\r\n" + inner).encode()
    parts = "".join(
        f'Content-Type: multipart/alternative; boundary="b{n}"\r\n\r\n--b{n}\r\n'
        for n in range(3000)
    )
    yield "3000 nested multiparts", (HEAD + "Subject: deep\r\n" + parts + "\r\nx\r\n").encode()


def _huge_headers() -> Iterator[tuple[str, bytes]]:
    yield (
        "20,000 Received headers",
        _simple("loop", "x", "".join(f"Received: from hop{n}\r\n" for n in range(20_000))),
    )
    yield "2 MB folded subject", _simple("s" + "\r\n folded" * 250_000, "x")
    yield (
        "5,000 recipients in To",
        _simple("many", "x", "Cc: " + ", ".join(f"r{n}@example.com" for n in range(5000)) + "\r\n"),
    )
    yield "500 KB Message-ID", _simple("mid", "x", f"Message-ID: <{'m' * 500_000}@x>\r\n")
    yield (
        "References with 10,000 ids",
        _simple(
            "refs", "x", "References: " + " ".join(f"<r{n}@x>" for n in range(10_000)) + "\r\n"
        ),
    )


def _encodings(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    yield (
        "invalid base64 body",
        (
            HEAD + "Subject: b64\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not*base64===\r\n"
        ).encode(),
    )
    yield (
        "invalid quoted-printable",
        (
            HEAD + "Subject: qp\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n=0"
        ).encode(),
    )
    yield (
        "unknown charset",
        _simple("cs", "caf\xe9", 'Content-Type: text/plain; charset="x-nope"\r\n'),
    )
    yield (
        "utf-16 declared, latin-1 sent",
        (HEAD + 'Subject: u16\r\nContent-Type: text/plain; charset="utf-16"\r\n\r\n').encode()
        + b"caf\xe9 \xff\xfe\xfd",
    )
    yield "bad encoded words", _simple("=?x-bogus?Q?=FF=FE?= =?utf-8?B?////?= =?utf-8?Q?", "x")
    yield (
        "8-bit garbage headers",
        b"From: \xff\xfe\xfd <x@\xff.example>\r\nSubject: \xc3\x28\xa0\r\n\r\n\xf0\x28",
    )
    yield "random bytes after headers", _simple("rnd", "") + rng.randbytes(30_000)
    yield "lone CR line ends", _simple("cr", "one\rtwo\rthree").replace(b"\r\n", b"\r")


def _nul_bytes() -> Iterator[tuple[str, bytes]]:
    yield "NUL in subject and body", _simple("nul\x00subject", "body\x00with\x00nul")
    yield "NUL in From", b"From: Eve\x00 <eve\x00@attacker.example>\r\nSubject: n\r\n\r\nx\r\n"
    yield "NUL in filename", _multipart([_attachment('filename="a\x00b.txt"', b"data")], "nul name")


def _injection() -> Iterator[tuple[str, bytes]]:
    yield (
        "encoded CRLF Bcc in subject",
        _simple(f"=?utf-8?Q?hello=0D=0ABcc:_{INJECTED.replace('@', '=40')}?=", "x"),
    )
    yield (
        "base64 CRLF headers in subject",
        _simple(
            "=?utf-8?B?"
            + base64.b64encode(f"hi\r\nBcc: {INJECTED}\r\nX-Evil: 1".encode()).decode()
            + "?=",
            "x",
        ),
    )
    yield (
        "CRLF in display name",
        (
            f"From: =?utf-8?Q?Eve=0D=0ABcc:_{INJECTED.replace('@', '=40')}?= <eve@attacker.example>"
            "\r\nTo: support@acme.example\r\nSubject: name\r\n\r\nx\r\n"
        ).encode(),
    )
    yield (
        "quoted display name with CRLF",
        (
            f'From: "Eve\\\r\nBcc: {INJECTED}" <eve@attacker.example>\r\n'
            "To: support@acme.example\r\nSubject: quoted\r\n\r\nx\r\n"
        ).encode(),
    )
    yield "bare LF in subject", _simple(f"hi\nBcc: {INJECTED}", "x")
    yield "Reply-To of the attacker", _simple("rt", "x", f"Reply-To: {INJECTED}\r\n")
    yield (
        "address with CRLF in the angle brackets",
        (
            f"From: Eve <eve@attacker.example\r\nBcc: {INJECTED}>\r\nSubject: addr\r\n\r\nx\r\n"
        ).encode(),
    )


def _html() -> Iterator[tuple[str, bytes]]:
    payload = (
        f"<html><body><p>Hi</p>{SCRIPT}{IMG}{LINK}<iframe src='//evil'></iframe></body></html>"
    )
    yield (
        "HTML-only with scripts",
        (
            HEAD
            + f"Subject: {SCRIPT}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{payload}\r\n"
        ).encode(),
    )
    yield (
        "script in the display name",
        (
            f'From: "{SCRIPT}" <eve@attacker.example>\r\nTo: support@acme.example\r\n'
            f"Subject: {IMG}\r\n\r\n{LINK}\r\n"
        ).encode(),
    )
    yield (
        "alternative with hostile HTML",
        _multipart(
            [
                "Content-Type: text/plain\r\n\r\nplain " + SCRIPT,
                "Content-Type: text/html\r\n\r\n" + payload,
            ],
            "alt",
        ),
    )
    yield (
        "unclosed tags and comments",
        _simple("tags", "", "Content-Type: text/html\r\n")
        + b"<div><!-- <script>alert(2)</script"
        + b"<p>" * 5000,
    )


def _attachments() -> Iterator[tuple[str, bytes]]:
    target = f"../../../../../../tmp/{TRAVERSAL_TARGET}"
    names = [
        f'filename="{target}"',
        f'filename="/tmp/{TRAVERSAL_TARGET}"',
        f'filename="..\\\\..\\\\..\\\\{TRAVERSAL_TARGET}"',
        f"filename*=utf-8''%2e%2e%2f%2e%2e%2f{TRAVERSAL_TARGET}",
        'filename=".."',
        'filename="."',
        'filename="' + "a" * 5000 + '.txt"',
        'filename="invoice\u202efdp.exe"',
        'filename="=?utf-8?B?Li4vLi4vZXRjL3Bhc3N3ZA==?="',
    ]
    yield (
        "path-traversal file names",
        _multipart(
            ["Content-Type: text/plain\r\n\r\nsee files"]
            + [_attachment(name, b"owned\n") for name in names],
            "traversal",
        ),
    )
    yield (
        "zip bomb (20 MB of zeros, 3 layers)",
        _multipart(
            [_attachment('filename="bomb.zip"', _zip_bomb(3, 20_000_000), "application/zip")], "zip"
        ),
    )
    yield (
        "attachment with broken base64",
        _multipart(
            [
                'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="x.pdf"'
                "\r\nContent-Transfer-Encoding: base64\r\n\r\n%%%%"
            ],
            "b64",
        ),
    )


def corpus(seed: int = 10) -> list[tuple[str, bytes]]:
    """Every hostile message, in a fixed order."""
    rng = random.Random(seed)
    families = [
        _broken_mime(), _nesting(), _huge_headers(), _encodings(rng), _nul_bytes(),
        _injection(), _html(), _attachments(),
    ]  # fmt: skip
    return [case for family in families for case in family]


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for number, (name, raw) in enumerate(corpus()):
        (out / f"{number:03d}-{name.replace(' ', '-').replace('/', '_')}.eml").write_bytes(raw)
