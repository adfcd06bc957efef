"""Large bodies left where they are: found in the raw message, stood in for, decoded in pieces.

The stdlib parser keeps a part's body as a list of lines and then as one string; for a 25 MB
attachment (36 MB of base64) that is hundreds of MB. So before parsing, every large body
that is clean base64 (nothing but the alphabet and line ends, padding only at its end) is cut
out of the text the parser sees and a one-line placeholder put in its place; the parser
builds the structure from what is left, and the attachment's bytes are decoded from the raw
message a piece at a time as they go to storage (`Span.pieces`).

The raw message is a `Source`, read by byte range: bytes in memory, or the stored message
itself (`mailtickets.db.blobs.reader`), so that the worker never holds a large message whole.
The cut reads it a MiB at a time, and keeps only what the parser is to see.

Cutting such a body cannot change the structure the parser finds: a boundary line starts with
"--" and a header has a ":", neither of which a cut body holds. Where a placeholder ends up
in anything but the whole body of a leaf (a text that happened to look like base64, a
quoted-printable part), its text is put back (`restore`) and the stdlib decodes it as before.
A body is left to the parser, whole, when telling would need more than a piece at a time:
its part's header is over `_HEAD` bytes, or padding falls in a piece other than its last.
"""

from __future__ import annotations

import binascii
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

#: Bodies smaller than this are left to the parser: cutting them would save little.
MIN_SPAN = 64 * 1024
#: Bytes of base64 decoded at a time (a multiple of 4 once line ends are dropped is kept).
_PIECE = 1024 * 1024
#: How far into a part its blank line is looked for; a longer header is not cut.
_HEAD = 64 * 1024
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*")
_BASE64_LINES = re.compile(rb"[A-Za-z0-9+/\r\n]*")
_BOUNDARY_LINE = re.compile(rb"\n--")
_BLANK_LINE = re.compile(rb"\n\r?\n")


class Source(Protocol):
    """A raw message read by byte range."""

    @property
    def size(self) -> int: ...

    def read(self, start: int, end: int) -> bytes:
        """The bytes from `start` to `end` (clipped to the message)."""
        ...


@dataclass(frozen=True)
class InMemory:
    """A raw message held as bytes."""

    raw: bytes

    @property
    def size(self) -> int:
        return len(self.raw)

    def read(self, start: int, end: int) -> bytes:
        return self.raw[start:end]


@dataclass(frozen=True)
class Span:
    """A body in `source` from `start` to `end` (its last line end excluded), base64 or as is."""

    source: Source
    start: int
    end: int
    base64: bool

    def text(self) -> str:
        """The body as the parser would have kept it."""
        return self.source.read(self.start, self.end).decode("ascii", "surrogateescape")

    def pieces(self) -> Iterator[bytes]:
        """The body's bytes, decoded when it is base64, at most about a MiB at a time."""
        if not self.base64:
            for at in range(self.start, self.end, _PIECE):
                yield self.source.read(at, min(at + _PIECE, self.end))
            return
        carry = b""
        for at in range(self.start, self.end, _PIECE):
            piece = self.source.read(at, min(at + _PIECE, self.end))
            text = carry + piece.translate(None, b"\r\n")
            whole = len(text) - len(text) % 4
            carry = text[whole:]
            if whole:
                yield binascii.a2b_base64(text[:whole])


@dataclass(frozen=True)
class Skeleton:
    """What the parser is given (`text`) and the bodies cut out of it, by placeholder."""

    text: bytes
    spans: dict[str, Span]


def cut(source: Source) -> Skeleton:
    """The message with each large clean base64 body replaced by a placeholder line."""
    size = source.size
    if size < MIN_SPAN:  # no body in it is large enough to cut
        return Skeleton(source.read(0, size), {})
    nonce = secrets.token_hex(8)
    spans: dict[str, Span] = {}
    kept: list[bytes] = []
    copied = 0
    begin = 0
    for end in [*_boundary_lines(source), size]:
        body = _clean_body(source, begin, end)
        begin = end + 1
        if body is None:
            continue
        start, content_end = body
        placeholder = f"MAILTICKETS-SPAN-{nonce}-{len(spans)}"
        spans[placeholder] = Span(source, start, content_end, base64=True)
        kept += [source.read(copied, start), placeholder.encode(), source.read(content_end, end)]
        copied = end
    kept.append(source.read(copied, size))
    return Skeleton(b"".join(kept), spans)


def _boundary_lines(source: Source) -> Iterator[int]:
    """Where each "\n--" starts, found a piece at a time."""
    for at in range(0, source.size, _PIECE):
        # Two bytes of the piece before, for a line that starts across the border.
        base = max(at - 2, 0)
        window = source.read(base, at + _PIECE)
        for match in _BOUNDARY_LINE.finditer(window):
            yield base + match.start()


def _clean_body(source: Source, begin: int, end: int) -> tuple[int, int] | None:
    """Where the body after the first blank line in the part from `begin` to `end` is, its
    last line end excluded, when it is large clean base64; else None."""
    if end - begin < MIN_SPAN:
        return None
    blank = _BLANK_LINE.search(source.read(begin, min(begin + _HEAD, end)))
    if blank is None:
        return None
    start = begin + blank.end()
    content_end = end
    if content_end > start and source.read(content_end - 1, content_end) == b"\r":
        content_end -= 1  # the CR of the CRLF before the boundary
    if content_end - start < MIN_SPAN:
        return None
    letters = 0
    for at in range(start, content_end, _PIECE):
        piece = source.read(at, min(at + _PIECE, content_end))
        last = at + _PIECE >= content_end
        if not (_BASE64_TEXT if last else _BASE64_LINES).fullmatch(piece):
            return None
        letters += len(piece) - piece.count(b"\n") - piece.count(b"\r")
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
