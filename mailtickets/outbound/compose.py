"""Build the outgoing message: headers by code with `email.headerregistry`, bodies from the
rendered templates. Nothing a customer wrote can add a header: every value is one line.
"""

from __future__ import annotations

import binascii
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP
from email.utils import format_datetime

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


@dataclass(frozen=True)
class OutgoingFile:
    """A file to add to a composed message; its name and type already made safe."""

    name: str
    content_type: str
    #: Its bytes, or their pieces in order: read once, as the message is written.
    content: bytes | Iterable[bytes]
    #: Shown inside the HTML as `cid:` rather than attached.
    inline: bool
    cid: str


def with_files(raw: bytes, files: Sequence[OutgoingFile]) -> bytes | bytearray:
    """`raw`, a composed message, with `files` added: images shown in place in the
    multipart/related around the HTML, the others attached (multipart/mixed).

    The same input gives the same bytes (boundaries come from the Message-ID), so every retry
    sends the same message. The structure is built with a placeholder for each file's body,
    then each body is base64-encoded from its pieces straight into the message, so a large
    file is in memory once, encoded, and never as a whole first.
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
    out = bytearray()
    at = 0
    for placeholder, file in bodies:
        where = skeleton.index(placeholder, at)
        out += skeleton[at:where]
        _encode_into(out, [file.content] if isinstance(file.content, bytes) else file.content)
        at = where + len(placeholder)
    out += skeleton[at:]
    return out


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


def _encode_into(out: bytearray, pieces: Iterable[bytes]) -> None:
    """Append `pieces` base64-encoded in lines of 76 characters, each ending in CRLF (then
    the placeholder's own line end follows, as the stdlib writes a base64 body)."""
    pending = b""
    for piece in pieces:
        pending += piece
        whole = len(pending) - len(pending) % _BLOCK
        if whole:
            _lines_into(out, memoryview(pending)[:whole])
            pending = pending[whole:]
    _lines_into(out, memoryview(pending))


def _lines_into(out: bytearray, data: memoryview) -> None:
    for at in range(0, len(data), _LINE_BYTES):
        out += binascii.b2a_base64(data[at : at + _LINE_BYTES], newline=False)
        out += b"\r\n"


def _related(message: EmailMessage) -> EmailMessage | None:
    """The multipart/related that holds the HTML already (when charts are drawn in it)."""
    for part in message.walk():
        if part.get_content_type() == "multipart/related":
            assert isinstance(part, EmailMessage)
            return part
    return None


def _boundary(seed: str, kind: str) -> str:
    return f"=_{kind}_{hashlib.sha256(f'{seed} {kind}'.encode()).hexdigest()[:32]}"
