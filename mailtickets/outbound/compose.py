"""Build the outgoing message: headers by code with `email.headerregistry`, bodies from the
rendered templates. Nothing a customer wrote can add a header: every value is one line.
"""

from __future__ import annotations

import binascii
import hashlib
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
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
#: which clients would not recognise (Exchange's ids alone are longer than 78).
WIRE = SMTP.clone(max_line_length=998)


def one_line(value: str) -> str:
    """Header-safe text: control characters and line breaks become spaces."""
    return " ".join("".join(c if c.isprintable() else " " for c in value).split())


def address(addr_spec: str, name: str | None = None) -> Address:
    """An Address, refusing anything that is not one plain address."""
    local, at, domain = addr_spec.rpartition("@")
    if not at or not local or not domain or one_line(addr_spec) != addr_spec:
        raise ValueError(f"not a mail address: {addr_spec!r}")
    return Address(display_name=one_line(name or ""), username=local, domain=domain)


def compose(
    *,
    template: str,
    rendered: Rendered,
    tag: str,
    marker: str,
    sender: Address,
    recipients: Sequence[str],
    message_id: str,
    date: datetime,
    loop_domain: str,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    redirect_to: str | None = None,
    images: Sequence[InlineImage] = (),
) -> EmailMessage:
    message = EmailMessage(policy=WIRE)
    message["From"] = sender
    if redirect_to:
        # Staging: everything goes to one mailbox, which still shows who it was for.
        message["To"] = address(redirect_to)
        message["X-Original-To"] = ", ".join(one_line(r) for r in recipients)
    else:
        message["To"] = [address(r) for r in recipients]
    subject = one_line(rendered.subject)
    message["Subject"] = subject if tag in subject else f"{tag} {subject}"
    message["Date"] = format_datetime(date)
    message["Message-ID"] = f"<{one_line(message_id)}>"
    if in_reply_to:
        message["In-Reply-To"] = f"<{one_line(in_reply_to)}>"
    if references:
        message["References"] = one_line(references)
    if reply_to:
        message["Reply-To"] = address(reply_to, sender.display_name)
    if template in HUMAN:
        # Out-of-office and other automatic answers to it would only be noise on the ticket;
        # delivery reports are still wanted.
        message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    else:
        # RFC 3834: an acknowledgement answers a message; everything else we generate.
        auto = "auto-replied" if template == ACKNOWLEDGEMENT else "auto-generated"
        message["Auto-Submitted"] = auto
        message["X-Auto-Response-Suppress"] = "All"
    message[LOOP_HEADER] = loop_domain
    text = f"{rendered.text.rstrip()}\n\n{marker}\n"
    message.set_content(text, cte="quoted-printable")
    if rendered.html is not None:
        footer = f'<p style="color:#999;font-size:10px">{escape(marker)}</p>'
        message.add_alternative(_with_footer(rendered.html, footer), subtype="html")
        html = message.get_body(("html",))
        assert isinstance(html, EmailMessage)
        # multipart/related around the HTML: clients show the images in place, not as files.
        for image in images:
            html.add_related(image.png, "image", "png", cid=f"<{image.cid}>")
    return message


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
