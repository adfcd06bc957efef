"""Build the outgoing message: headers by code, bodies from the rendered templates.

The message is written straight in its wire form (CRLF; quoted-printable text, base64
images; RFC 2047 encoded words for non-ASCII header text) rather than through the stdlib's
policy-based `EmailMessage`, whose header registry parsed and refolded every header it was
given: that took about 4 ms a mail, a quarter of the daemon's CPU per message received.
Nothing a customer wrote can add a header: every value is made one line (`one_line`) before
it is written, and a line is folded only at the spaces of that one line.
"""

from __future__ import annotations

import binascii
import hashlib
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.charset import Charset
from email.header import Header
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP
from email.utils import format_datetime
from typing import Protocol

from markupsafe import escape

from mailtickets.mail.loops import LOOP_HEADER
from mailtickets.outbound.charts import InlineImage
from mailtickets.outbound.render import Rendered

ACKNOWLEDGEMENT = "customer/acknowledgement"
#: Mail an agent wrote and we only relay. RFC 3834: a human's reply is not auto-submitted
#: (and some customers' filters drop mail that says it is).
HUMAN = frozenset({"customer/agent_reply"})
#: CRLF, and lines up to RFC 5322's 998: a Message-ID is never folded or RFC 2047-encoded,
#: which clients would not recognise (Exchange's ids alone are longer than 78). Used where
#: a composed message is parsed again to add files.
WIRE = SMTP.clone(max_line_length=998)
#: RFC 5322's recommended line length, to which header text is folded where it has spaces.
_FOLD_AT = 78
#: A word longer than this (a subject of one long token) goes as encoded words, which may be
#: split anywhere, so that no line passes RFC 5322's 998.
_LONGEST_WORD = 900
#: A display name longer than this goes as an encoded word too, as one that is not ASCII.
_SHORT_NAME = 40
#: RFC 5322's specials: a name with one of them is quoted.
_SPECIALS = frozenset('()<>[]:;@\\,."')
CRLF = b"\r\n"
_UTF8 = Charset("utf-8")


def one_line(value: str) -> str:
    """Header-safe text: control characters and line breaks become spaces."""
    return " ".join("".join(c if c.isprintable() else " " for c in value).split())


@dataclass(frozen=True)
class Mailbox:
    """One plain address and the name shown with it."""

    addr_spec: str
    display_name: str = ""

    def words(self) -> list[str]:
        """The mailbox as header words, between which a line may be folded."""
        name, spec = self.display_name, f"<{self.addr_spec}>"
        if not name:
            return [self.addr_spec]
        if not spec.isascii():
            # RFC 6532: an internationalised address goes as UTF-8 (the relay is asked for
            # SMTPUTF8), and the name beside it likewise, quoted.
            return [_quoted(name), spec]
        if name.isascii() and len(name) <= _SHORT_NAME:
            plain = not any(c in _SPECIALS for c in name)
            return [*name.split(" "), spec] if plain else [_quoted(name), spec]
        # One encoded word, however long: readers put a space between the encoded words of
        # a name (the stdlib's parser among them), not only between those of a subject.
        return [_UTF8.header_encode(name), spec]


def address(addr_spec: str, name: str | None = None) -> Mailbox:
    """A Mailbox, refusing anything that is not one plain address."""
    local, at, domain = addr_spec.rpartition("@")
    if not at or not local or not domain or one_line(addr_spec) != addr_spec:
        raise ValueError(f"not a mail address: {addr_spec!r}")
    return Mailbox(addr_spec, one_line(name or ""))


def compose(
    *,
    template: str,
    rendered: Rendered,
    tag: str,
    marker: str,
    sender: Mailbox,
    recipients: Sequence[str],
    message_id: str,
    date: datetime,
    loop_domain: str,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    redirect_to: str | None = None,
    images: Sequence[InlineImage] = (),
) -> bytes:
    """The message's bytes, CRLF line ends, ready for the relay."""
    head = bytearray()
    _addresses(head, "From", [sender])
    if redirect_to:
        # Staging: everything goes to one mailbox, which still shows who it was for.
        _addresses(head, "To", [address(redirect_to)])
        _text(head, "X-Original-To", ", ".join(one_line(r) for r in recipients))
    else:
        _addresses(head, "To", [address(r) for r in recipients])
    subject = one_line(rendered.subject)
    _text(head, "Subject", subject if tag in subject else one_line(f"{tag} {subject}"))
    _text(head, "Date", format_datetime(date))
    _token(head, "Message-ID", f"<{one_line(message_id)}>")
    if in_reply_to:
        _token(head, "In-Reply-To", f"<{one_line(in_reply_to)}>")
    if references:
        _text(head, "References", one_line(references))
    if reply_to:
        _addresses(head, "Reply-To", [address(reply_to, sender.display_name)])
    if template in HUMAN:
        # Out-of-office and other automatic answers to it would only be noise on the ticket;
        # delivery reports are still wanted.
        _token(head, "X-Auto-Response-Suppress", "OOF, AutoReply")
    else:
        # RFC 3834: an acknowledgement answers a message; everything else we generate.
        auto = "auto-replied" if template == ACKNOWLEDGEMENT else "auto-generated"
        _token(head, "Auto-Submitted", auto)
        _token(head, "X-Auto-Response-Suppress", "All")
    _token(head, LOOP_HEADER, one_line(loop_domain))
    _token(head, "MIME-Version", "1.0")
    text = _text_part("plain", f"{rendered.text.rstrip()}\n\n{marker}\n")
    if rendered.html is None:
        return bytes(head + text)
    footer = f'<p style="color:#999;font-size:10px">{escape(marker)}</p>'
    html = _text_part("html", _with_footer(rendered.html, footer))
    if images:
        # multipart/related around the HTML: clients show the images in place, not as files.
        html = _multipart("related", message_id, [html, *(_image(i) for i in images)])
    return bytes(head + _multipart("alternative", message_id, [text, html]))


def _addresses(out: bytearray, name: str, mailboxes: Sequence[Mailbox]) -> None:
    words: list[str] = []
    for mailbox in mailboxes:
        if words:
            words[-1] += ","
        words += mailbox.words()
    _folded(out, name, words)


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _encoded_words(text: str) -> list[str]:
    """`text` as RFC 2047 encoded words of at most 75 characters each."""
    # Each on a line of its own after the folding space, if need be: 76 with that space.
    return str(Header(text, "utf-8", maxlinelen=_FOLD_AT - 2).encode()).split()


def _text(out: bytearray, name: str, value: str) -> None:
    """Unstructured text (a subject): folded at its spaces; its non-ASCII words (and any too
    long for a line) as RFC 2047 encoded words, the ASCII ones as they are."""
    words: list[str] = []
    pending: list[str] = []
    for word in [*value.split(" "), None]:
        if word is not None and (not word.isascii() or len(word) >= _LONGEST_WORD or "=?" in word):
            pending.append(word)
            continue
        if pending:
            # Neighbouring encoded words: the space between them is dropped when read, so
            # the space between the words they carry goes inside them.
            words += _encoded_words(" ".join(pending))
            pending = []
        if word is not None:
            words.append(word)
    _folded(out, name, words)


def _token(out: bytearray, name: str, value: str) -> None:
    """A value never folded (an id, a keyword): one line up to RFC 5322's 998."""
    out += f"{name}: {value}".encode() + CRLF


def _folded(out: bytearray, name: str, words: Sequence[str]) -> None:
    line = f"{name}:"
    for word in words:
        if len(line) + 1 + len(word) > _FOLD_AT and line.strip():
            # Even right after the name: a line may not start with the value.
            out += line.encode() + CRLF
            line = ""
        line += f" {word}"
    out += line.encode() + CRLF


def _text_part(subtype: str, text: str) -> bytes:
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    body = binascii.b2a_qp(lines.encode("utf-8"), istext=True)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode() + body.replace(b"\n", CRLF)


def _image(image: InlineImage) -> bytes:
    out = bytearray(
        b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: inline\r\n"
        + f"Content-ID: <{one_line(image.cid)}>".encode()
        + CRLF
        + CRLF
    )
    out += _lines(memoryview(image.png))
    return bytes(out)


def _multipart(subtype: str, seed: str, parts: Sequence[bytes]) -> bytes:
    """`parts` (each its headers, a blank line, its body ending in CRLF) in one multipart;
    the boundary, from the Message-ID, cannot occur in a quoted-printable or base64 body."""
    boundary = _boundary(seed, subtype).encode()
    out = bytearray(b"Content-Type: multipart/" + subtype.encode() + b";" + CRLF)
    out += b' boundary="' + boundary + b'"' + CRLF + CRLF
    for part in parts:
        # The line end before a delimiter belongs to it (RFC 2046): the part's own stays.
        out += b"--" + boundary + CRLF + part + CRLF
    out += b"--" + boundary + b"--" + CRLF
    return bytes(out)


def _with_footer(html: str, footer: str) -> str:
    position = html.lower().rfind("</body>")
    return html + footer if position < 0 else html[:position] + footer + html[position:]


class Pieces(Protocol):
    """A file's bytes in pieces, read afresh each time it is iterated; its length is theirs."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class OutgoingFile:
    """A file to add to a composed message; its name and type already made safe."""

    name: str
    content_type: str
    #: Its bytes, or their pieces in order, read as the message is written.
    content: bytes | Pieces
    #: Shown inside the HTML as `cid:` rather than attached.
    inline: bool
    cid: str


@dataclass(frozen=True)
class Composed:
    """A message whose files are base64-encoded as it is written (`pieces`), a block at a
    time, so that a large file is never in memory whole, not even encoded: `texts` are the
    message's own bytes, a file's body between each two."""

    texts: tuple[bytes, ...]
    files: tuple[OutgoingFile, ...]

    def pieces(self) -> Iterator[bytes]:
        """The message in order; each piece starts a line."""
        for text, file in zip(self.texts, self.files, strict=False):
            yield text
            yield from _encoded([file.content] if isinstance(file.content, bytes) else file.content)
        yield self.texts[-1]

    def __len__(self) -> int:
        return sum(map(len, self.texts)) + sum(_encoded_length(len(f.content)) for f in self.files)

    def __bytes__(self) -> bytes:
        return b"".join(self.pieces())

    def endswith(self, suffix: bytes) -> bool:
        return self.texts[-1].endswith(suffix)


def with_files(raw: bytes, files: Sequence[OutgoingFile]) -> bytes | Composed:
    """`raw`, a composed message, with `files` added: images shown in place in the
    multipart/related around the HTML, the others attached (multipart/mixed).

    The same input gives the same bytes (boundaries come from the Message-ID), so every retry
    sends the same message. The structure is built with a placeholder for each file's body;
    each body is base64-encoded from its pieces as the message is written (`Composed`).
    """
    if not files:
        return raw
    message = BytesParser(_class=EmailMessage, policy=WIRE).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    seed = str(message["Message-ID"] or "")
    html = message.get_body(("html",))
    inline = [f for f in files if f.inline] if html is not None else []
    nonce = secrets.token_hex(8)
    bodies: list[tuple[bytes, OutgoingFile]] = []
    if inline:
        assert isinstance(html, EmailMessage)
        related = _related(message) or html
        if related is html:
            html.make_related(boundary=_boundary(seed, "related"))
        for file in inline:
            related.attach(_part(file, "inline", bodies, nonce, cid=f"<{file.cid}>"))
    attached = [f for f in files if f not in inline]
    if attached:
        if message.get_content_type() != "multipart/mixed":
            message.make_mixed(boundary=_boundary(seed, "mixed"))
        for file in attached:
            message.attach(_part(file, "attachment", bodies, nonce))
    skeleton = message.as_bytes(policy=WIRE)
    texts: list[bytes] = []
    at = 0
    for placeholder, _file in bodies:
        where = skeleton.index(placeholder, at)
        texts.append(skeleton[at:where])
        at = where + len(placeholder)
    texts.append(skeleton[at:])
    return Composed(tuple(texts), tuple(file for _placeholder, file in bodies))


def _part(
    file: OutgoingFile,
    disposition: str,
    bodies: list[tuple[bytes, OutgoingFile]],
    nonce: str,
    cid: str | None = None,
) -> EmailMessage:
    """The file's part with a placeholder for its body, which `bodies` maps to the file."""
    part = EmailMessage(policy=SMTP)
    maintype, _, subtype = file.content_type.partition("/")
    part.set_content(b"", maintype, subtype, disposition=disposition, filename=file.name, cid=cid)
    placeholder = f"MAILTICKETS-FILE-{nonce}-{len(bodies)}"
    part.set_payload(placeholder)
    bodies.append((placeholder.encode(), file))
    return part


#: Bytes in one base64 line: RFC 2045's 76 characters.
_LINE_BYTES = 57
_BLOCK = _LINE_BYTES * 16 * 1024


def _encoded(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """`pieces` base64-encoded in lines of 76 characters, each ending in CRLF (then the
    placeholder's own line end follows, as the stdlib writes a base64 body), a block of
    lines at a time."""
    pending = b""
    for piece in pieces:
        pending += piece
        whole = len(pending) - len(pending) % _BLOCK
        if whole:
            yield _lines(memoryview(pending)[:whole])
            pending = pending[whole:]
    if pending:
        yield _lines(memoryview(pending))


def _lines(data: memoryview) -> bytes:
    out = bytearray()
    for at in range(0, len(data), _LINE_BYTES):
        out += binascii.b2a_base64(data[at : at + _LINE_BYTES], newline=False)
        out += b"\r\n"
    return bytes(out)


def _encoded_length(size: int) -> int:
    """How long `_encoded` makes `size` bytes: 78 per full line, a shorter last line."""
    full, rest = divmod(size, _LINE_BYTES)
    return full * (76 + 2) + (4 * -(-rest // 3) + 2 if rest else 0)


def _related(message: EmailMessage) -> EmailMessage | None:
    """The multipart/related that holds the HTML already (when charts are drawn in it)."""
    for part in message.walk():
        if part.get_content_type() == "multipart/related":
            assert isinstance(part, EmailMessage)
            return part
    return None


def _boundary(seed: str, kind: str) -> str:
    return f"=_{kind}_{hashlib.sha256(f'{seed} {kind}'.encode()).hexdigest()[:32]}"
