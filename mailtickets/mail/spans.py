"""Large bodies left where they are: found in the raw message, stood in for, decoded in pieces.

The stdlib parser keeps a part's body as a list of lines and then as one string; for a 25 MB
attachment (36 MB of base64) that is hundreds of MB. So before parsing, every large body
that is clean base64 (nothing but the alphabet and line ends, padding only at its end) is cut
out of the text the parser sees and a one-line placeholder put in its place; the parser
builds the structure from what is left, and the attachment's bytes are decoded from the raw
message a piece at a time as they go to storage (`Span.pieces`).

Cutting such a body cannot change the structure the parser finds: a boundary line starts with
"--" and a header has a ":", neither of which a cut body holds. Where a placeholder ends up
in anything but the whole body of a leaf (a text that happened to look like base64, a
quoted-printable part), its text is put back (`restore`) and the stdlib decodes it as before.
"""

from __future__ import annotations

import binascii
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

#: Bodies smaller than this are left to the parser: cutting them would save little.
MIN_SPAN = 64 * 1024
#: Bytes of base64 decoded at a time (a multiple of 4 once line ends are dropped is kept).
_PIECE = 1024 * 1024
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*")
_BOUNDARY_LINE = re.compile(rb"\n--")
_BLANK_LINE = re.compile(rb"\n\r?\n")


@dataclass(frozen=True)
class Span:
    """A body in `raw` from `start` to `end` (its last line end excluded), base64 or as is."""

    raw: bytes
    start: int
    end: int
    base64: bool

    def text(self) -> str:
        """The body as the parser would have kept it."""
        return self.raw[self.start : self.end].decode("ascii", "surrogateescape")

    def pieces(self) -> Iterator[bytes]:
        """The body's bytes, decoded when it is base64, at most about a MiB at a time."""
        if not self.base64:
            for at in range(self.start, self.end, _PIECE):
                yield self.raw[at : min(at + _PIECE, self.end)]
            return
        carry = b""
        for at in range(self.start, self.end, _PIECE):
            text = carry + self.raw[at : min(at + _PIECE, self.end)].translate(None, b"\r\n")
            whole = len(text) - len(text) % 4
            carry = text[whole:]
            if whole:
                yield binascii.a2b_base64(text[:whole])


@dataclass(frozen=True)
class Skeleton:
    """What the parser is given (`text`) and the bodies cut out of it, by placeholder."""

    text: bytes
    spans: dict[str, Span]


def cut(raw: bytes) -> Skeleton:
    """`raw` with each large clean base64 body replaced by a placeholder line."""
    nonce = secrets.token_hex(8)
    spans: dict[str, Span] = {}
    kept: list[bytes] = []
    copied = 0
    ends = [m.start() for m in _BOUNDARY_LINE.finditer(raw)] + [len(raw)]
    begin = 0
    for end in ends:
        body = _clean_body(raw, begin, end)
        begin = end + 1
        if body is None:
            continue
        start, content_end = body
        placeholder = f"MAILTICKETS-SPAN-{nonce}-{len(spans)}"
        spans[placeholder] = Span(raw, start, content_end, base64=True)
        kept += [raw[copied:start], placeholder.encode(), raw[content_end:end]]
        copied = end
    if not spans:
        return Skeleton(raw, {})
    kept.append(raw[copied:])
    return Skeleton(b"".join(kept), spans)


def _clean_body(raw: bytes, begin: int, end: int) -> tuple[int, int] | None:
    """Where the body after the first blank line in raw[begin:end] is, its last line end
    excluded, when it is large clean base64; else None."""
    blank = _BLANK_LINE.search(raw, begin, end)
    if blank is None:
        return None
    start = blank.end()
    content_end = end
    if content_end > start and raw[content_end - 1 : content_end] == b"\r":
        content_end -= 1  # the CR of the CRLF before the boundary
    if content_end - start < MIN_SPAN or not _BASE64_TEXT.fullmatch(raw, start, content_end):
        return None
    letters = content_end - start - raw.count(b"\n", start, content_end)
    letters -= raw.count(b"\r", start, content_end)
    # Base64 the stdlib would have to repair (wrong length) is left to it.
    return (start, content_end) if letters % 4 == 0 else None


def restore(text: str, spans: dict[str, Span]) -> str:
    """`text` with every placeholder in it replaced by the body it stands for."""
    if "MAILTICKETS-SPAN-" not in text:
        return text
    for placeholder, span in spans.items():
        if placeholder in text:
            text = text.replace(placeholder, span.text())
    return text
