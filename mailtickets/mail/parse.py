"""Parse raw mail into what the pipeline needs, tolerating every defect real mail has.

Nothing here raises on bad input: unreadable headers fall back to their raw text, charsets are
read as browsers read them (WHATWG) and wrong ones from the bytes, HTML-only mail becomes text,
and MIME trees are walked iteratively with a bound on parts so hostile nesting costs little.
All text returned is safe to store (no NUL, no lone surrogates). Large base64 bodies are not
given to the stdlib parser at all (`spans`): an attachment is decoded from the raw message a
piece at a time when it is stored. The message may be given as a `spans.Source` read by
byte range (the stored message): then parsing holds what the parser sees, never the
attachments' base64.

The parse of one message is kept whole (about 350 lines): charsets, HTML and addresses
already have modules of their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import InvalidHeaderDefect
from email.feedparser import FeedParser
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime

from mailtickets.mail import charsets, spans
from mailtickets.mail.addresses import MAX_ADDRESS, MAX_NAME, is_valid, normalise
from mailtickets.mail.htmltext import html_to_text
from mailtickets.mail.subjects import MAX_SUBJECT

MAX_PARTS = 500
#: The text kept of a body too hostile to parse; all of it stays in the raw message. Without
#: a bound, a message of 50,000 parts became a ticket text, and agents' notices, of 5 MB.
MAX_UNPARSED_TEXT = 100_000
_MAX_BOUNDARY_LINES = 8 * MAX_PARTS
_PARSE_CHUNK = 64 * 1024


class _Unparsable(Exception):
    """Raised before handing hostile structure to the stdlib parser."""


# The stdlib's header parser is quadratic in a header's length; no honest header is longer.
MAX_HEADER_BYTES = 8 * 1024
_HEADER_BLOCK_FAST_PATH = 64 * 1024
MAX_IDS = 50
# Message-IDs are indexed: PostgreSQL's btree takes at most 2704 bytes a row, and 500
# characters stay under it in any script. Real ids are far shorter.
MAX_MESSAGE_ID = 500
MAX_FILENAME = 200
_ANGLE_IDS = re.compile(r"<([^<>\s]{1,998})>")  # longer ones are cut to MAX_MESSAGE_ID
_EXTENSIONS = {
    "message/rfc822": "eml",
    "message/delivery-status": "txt",
    "text/rfc822-headers": "txt",
    "text/plain": "txt",
    "text/html": "html",
}
_SURROGATE = re.compile("[\udc80-\udcff]")
_FILENAME_BAD = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    inline: bool
    content_id: str | None
    #: The decoded bytes, or where in the raw message to decode them from when large.
    body: bytes | spans.Span

    def pieces(self) -> Iterator[bytes]:
        """The file's bytes in pieces of about a MiB: what storage reads."""
        if isinstance(self.body, bytes):
            yield self.body
        else:
            yield from self.body.pieces()

    @property
    def content(self) -> bytes:
        """The whole file at once; storage reads `pieces` instead."""
        return b"".join(self.pieces())


class _Part(EmailMessage):
    """A parsed part that may stand for a body left in the raw message (`spans`)."""

    span: spans.Span | None = None


@dataclass(frozen=True)
class ParsedMail:
    message: Message
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_name: str | None
    from_address: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None
    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    notes: tuple[str, ...] = field(default=())

    def header(self, name: str) -> str | None:
        """One header's text, decoded; None when absent."""
        return header(self.message, name)

    def headers(self, name: str) -> list[str]:
        return headers(self.message, name)


def safe_text(text: str) -> str:
    """Text any database accepts: no NUL bytes, no lone surrogates.

    Surrogates stand for raw 8-bit bytes in headers; they are read as UTF-8 when they are,
    else as windows-1252, rather than being lost.
    """
    if _SURROGATE.search(text):
        raw = text.encode("utf-8", "surrogateescape")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = charsets.windows_1252(raw)
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def headers(message: Message, name: str) -> list[str]:
    """Every value of header `name`, decoded where possible, raw where not.

    An encoded word labelled iso-8859-1 is read by the stdlib as latin-1: its C1 controls are
    windows-1252's quotes and dashes, as a browser shows them.
    """
    try:
        values = [str(v) for v in message.get_all(name) or []]
    except Exception:  # noqa: BLE001  (a malformed header must not stop parsing)
        values = [_decode_words(v) for v in _raw_headers(message, name)]
    return [charsets.c1_as_windows_1252(safe_text(v)) for v in values]


def _raw_headers(message: Message, name: str) -> list[str]:
    return [str(v) for k, v in message.raw_items() if k.lower() == name.lower()]


def header(message: Message, name: str) -> str | None:
    values = headers(message, name)
    return values[0] if values else None


def _decode_words(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # noqa: BLE001  (keep the raw text rather than nothing)
        return value


def bounded_headers(raw: bytes) -> tuple[bytes, list[str]]:
    """`raw` with every header cut to MAX_HEADER_BYTES, and a note for each one cut."""
    ends = [i + len(sep) // 2 for sep in (b"\n\n", b"\r\n\r\n") if (i := raw.find(sep)) >= 0]
    end = min(ends) if ends else len(raw)
    if end <= _HEADER_BLOCK_FAST_PATH:
        return raw, []
    kept: list[bytes] = []
    notes: list[str] = []
    size, name = 0, ""
    for line in raw[:end].splitlines(keepends=True):
        if line[:1] not in (b" ", b"\t"):  # a new header, not a folded continuation
            size, name = 0, line.split(b":", 1)[0][:40].decode("ascii", "replace")
        if size + len(line) > MAX_HEADER_BYTES:
            if size < MAX_HEADER_BYTES:
                notes.append(f"header {name} cut to {MAX_HEADER_BYTES} bytes")
                kept.append(line[: MAX_HEADER_BYTES - size].rstrip(b"\r\n") + b"\n")
            size = MAX_HEADER_BYTES
            continue
        size += len(line)
        kept.append(line)
    return b"".join(kept) + raw[end:], notes


def parse(raw: bytes | spans.Source) -> ParsedMail:
    """The parts of `raw` the pipeline uses."""
    source = spans.InMemory(raw) if isinstance(raw, bytes) else raw
    # Cut first: the header block it leaves is the message's, and so are its boundary lines
    # (a cut body holds neither), so the bounds below see what they would in the whole.
    skeleton = spans.cut(source)
    seen, notes = bounded_headers(skeleton.text)
    try:
        # The stdlib parser builds every part before we could stop it: tens of thousands
        # of boundary lines cost it tens of seconds, so such a tree is not parsed at all.
        if seen.count(b"\n--") > _MAX_BOUNDARY_LINES:
            raise _Unparsable(f"more than {_MAX_BOUNDARY_LINES} MIME boundaries")
        message = _message_from_bytes(seen)
        _place_spans(message, skeleton.spans)
        text, html, attachments, body_notes = _body(message)
    except (RecursionError, _Unparsable) as exc:
        # Hostile structure: keep the headers and the body as it stands, unparsed.
        why = str(exc) if isinstance(exc, _Unparsable) else "MIME structure nested too deeply"
        whole, _ = bounded_headers(source.read(0, source.size))
        message = BytesParser(policy=default_policy).parsebytes(whole, headersonly=True)
        body = whole.partition(b"\n\n")[2] or whole.partition(b"\r\n\r\n")[2]
        text = safe_text(body[: 4 * MAX_UNPARSED_TEXT].decode("utf-8", "replace"))
        html, attachments = None, []
        body_notes = [f"{why}; the body is kept unparsed"]
        if len(text) > MAX_UNPARSED_TEXT or len(body) > 4 * MAX_UNPARSED_TEXT:
            text = text[:MAX_UNPARSED_TEXT]
            body_notes.append(f"only its first {MAX_UNPARSED_TEXT} characters are the text")
    notes = notes + body_notes
    from_name, from_address = _first_address(message, "From")
    return ParsedMail(
        message=message,
        message_id=next(iter(_ids(header(message, "Message-ID"))), None),
        in_reply_to=_ids(header(message, "In-Reply-To")),
        references=_ids(header(message, "References"))[-MAX_IDS:],
        subject=safe_text(" ".join((header(message, "Subject") or "").split()))[:MAX_SUBJECT],
        from_name=from_name,
        from_address=from_address,
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        date=_date(message),
        text=text,
        html=html,
        attachments=tuple(attachments),
        notes=tuple(notes),
    )


def _message_from_bytes(raw: bytes) -> Message:
    """What `email.message_from_bytes` gives, fed to the parser a chunk at a time.

    The stdlib decodes the whole message to a str and reads it back through a StringIO, four
    bytes a character: for a 25 MB attachment that is over 200 MB at once. Decoding chunk by
    chunk gives the same characters, byte for byte (ASCII with surrogateescape).
    """
    parser = FeedParser(_Part, policy=default_policy)
    for start in range(0, len(raw), _PARSE_CHUNK):
        parser.feed(raw[start : start + _PARSE_CHUNK].decode("ascii", "surrogateescape"))
    return parser.close()


def _place_spans(message: Message, cut: dict[str, spans.Span]) -> None:
    """Give each leaf whose whole base64 body was cut out its span; put every other cut
    body back as text (bodies of an attached message, text that only looked like base64)."""
    if not cut:
        return
    stack: list[tuple[Message, bool]] = [(message, False)]
    while stack:
        part, attached = stack.pop()
        for edge in ("preamble", "epilogue"):
            value = getattr(part, edge, None)
            if isinstance(value, str):
                setattr(part, edge, spans.restore(value, cut))
        payload = part.get_payload()
        if isinstance(payload, list):
            inside = attached or part.get_content_maintype() == "message"
            stack.extend((child, inside) for child in payload if isinstance(child, Message))
            continue
        if not isinstance(payload, str):
            continue
        span = cut.get(payload.strip())
        encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        if span is not None and not attached and encoding == "base64" and isinstance(part, _Part):
            part.span = span
        else:
            part.set_payload(spans.restore(payload, cut))


def _ids(value: str | None) -> tuple[str, ...]:
    """Message-IDs in a header, without brackets; bare tokens when no brackets are used."""
    if not value:
        return ()
    found = _ANGLE_IDS.findall(value) or [v for v in value.split() if "@" in v]
    return tuple(dict.fromkeys(safe_text(i.strip())[:MAX_MESSAGE_ID] for i in found if i.strip()))


def _pairs(message: Message, name: str) -> list[tuple[str, str]]:
    raw = _raw_headers(message, name)
    addresses = None
    # Encoded words belong in display names only (RFC 2047, section 5), but the stdlib's header
    # parser decodes them inside an address too: "<=?utf-8?Q?x=40evil.example?=>" would give
    # "x@evil.example". A header holding one is read by the raw path below.
    if not any("=?" in value for value in raw):
        try:
            parsed = message[name]
            # What it could not read as an address it gives as something else: "<>" for
            # "ana@example.com." (a trailing dot), the display name for "Ana <…com.>".
            defects = getattr(parsed, "defects", ())
            if not any(isinstance(d, InvalidHeaderDefect) for d in defects):
                addresses = getattr(parsed, "addresses", None)
        except Exception:  # noqa: BLE001  (the lenient parser below reads what it can)
            addresses = None
    if addresses is not None:
        return [(a.display_name, a.addr_spec) for a in addresses]
    # Addresses are read from the raw header and only display names are decoded: decoded text
    # can look like addresses ("=?utf-8?Q?Eve=0D=0ABcc:_x=40evil.example?=" would make
    # x@evil.example the sender).
    pairs = getaddresses(raw)
    return [(_decode_words(display), address) for display, address in pairs]


def _first_address(message: Message, name: str) -> tuple[str | None, str | None]:
    for display, raw_address in _pairs(message, name):
        # Checked as stored: a NUL byte dropped afterwards could leave "ana@" behind.
        address = normalise(safe_text(raw_address))
        if is_valid(address):
            display = safe_text(" ".join(display.split()))[:MAX_NAME]
            return (display or None), address
    return None, None


def _addresses(message: Message, name: str) -> tuple[str, ...]:
    found = [normalise(safe_text(a)) for _, a in _pairs(message, name)]
    return tuple(dict.fromkeys(a for a in found if is_valid(a) and len(a) <= MAX_ADDRESS))


def _date(message: Message) -> datetime | None:
    raw = header(message, "Date")
    try:
        parsed = parsedate_to_datetime(raw) if raw else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _body(message: Message) -> tuple[str, str | None, list[Attachment], list[str]]:
    """The readable text, the first HTML part, attachments and notes on what was skipped."""
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    notes: list[str] = []
    stack: list[Message] = [message]
    seen = 0
    while stack:
        part = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            notes.append(f"only the first {MAX_PARTS} MIME parts were read")
            break
        if part.is_multipart() and part.get_content_maintype() == "multipart":
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend(c for c in reversed(children) if isinstance(c, Message))
            continue
        kind = part.get_content_type()
        disposition = _disposition(part)
        filename = _filename(part)
        if kind == "text/plain" and disposition != "attachment" and not filename:
            plain.append(decode_text(part))
        elif kind == "text/html" and disposition != "attachment" and not filename:
            html.append(decode_text(part))
        else:
            attachments.append(_attachment(part, filename, len(attachments) + 1))
    html_text = html[0] if html else None
    if any(p.strip() for p in plain):
        text = "\n\n".join(p for p in plain if p.strip())
    elif html_text is not None:
        text = html_to_text(html_text)
    else:
        text = ""
    return safe_text(text), (safe_text(html_text) if html_text else None), attachments, notes


def decode_text(part: Message) -> str:
    """A text part's content, read as a browser reads it (`charsets.decode`); never fails."""
    return charsets.decode(_payload(part), part.get_content_charset())


def _payload(part: Message) -> bytes:
    if isinstance(part, _Part) and part.span is not None:
        return b"".join(part.span.pieces())
    if part.get_content_type() == "message/rfc822" or part.is_multipart():
        return part.as_bytes(policy=default_policy.clone(linesep="\r\n"))
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001  (undecodable transfer encoding: keep the raw text)
        payload = str(part.get_payload()).encode("utf-8", "surrogateescape")
    return payload if isinstance(payload, bytes) else b""


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:  # noqa: BLE001  (a garbled header means no disposition)
        return ""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001  (a garbled parameter means no usable name)
        return None
    return name or None


def safe_filename(name: str | None, content_type: str, position: int) -> str:
    """A file name that cannot climb out of a directory or hide control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _FILENAME_BAD.sub("_", safe_text(base)).strip(" ._")
    if not base:
        extension = _EXTENSIONS.get(content_type, content_type.rsplit("/", 1)[-1][:16] or "bin")
        base = f"attachment-{position}.{_FILENAME_BAD.sub('_', extension)}"
    stem, dot, extension = base.rpartition(".")
    if not dot:
        stem, extension = base, ""
    extension = extension[:16]
    stem = stem[: MAX_FILENAME - len(extension) - 1] or "attachment"
    return f"{stem}.{extension}" if extension else stem


def _attachment(part: Message, filename: str | None, position: int) -> Attachment:
    kind = part.get_content_type()
    content_id = header(part, "Content-ID")
    disposition = _disposition(part)
    span = part.span if isinstance(part, _Part) else None
    return Attachment(
        filename=safe_filename(filename, kind, position),
        content_type=kind[:255],
        body=_payload(part) if span is None else span,
        # Gmail gives real attachments a Content-ID too: an explicit disposition decides.
        inline=disposition == "inline" or (not disposition and bool(content_id)),
        content_id=content_id.strip().strip("<>")[:998] if content_id else None,
    )
