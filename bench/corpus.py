"""A seeded corpus of support mail: the same seed and size give the same bytes.

The mix follows what a support address sees in a flood: mostly new requests, then replies
with threading headers, replies that keep only the subject tag, replies that carry neither,
and auto-replies; text in English and Portuguese, in utf-8, iso-8859-1 and windows-1252,
some subjects as encoded words, some bodies with an HTML alternative, some attachments and
a few of them megabytes large.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.charset import QP, Charset
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from pathlib import Path

QUEUE = "support@acme.example"
SUBJECT_PREFIX = "ACME"
DATE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

#: Kinds and their share of the corpus.
MIX = {
    "new": 0.55,
    "reply_threaded": 0.18,
    "reply_tag_only": 0.10,
    "reply_bare": 0.07,
    "auto_reply": 0.10,
}
CHARSETS = ("utf-8", "iso-8859-1", "windows-1252")
BIG_ATTACHMENT = 2 * 1024 * 1024
#: One message in this many carries a megabyte-sized attachment (at least one always does).
BIG_EVERY = 400

_EN_SUBJECTS = (
    "Printer on fire",
    "Cannot log in since this morning",
    "Invoice 2026-11 is wrong",
    "Password reset link expired",
    "Delivery did not arrive",
    "VPN drops every hour",
)
_PT_SUBJECTS = (
    "Impressora não funciona",
    "Não consigo acessar a conta",
    "Fatura de novembro está errada",
    "Pedido não chegou até hoje",
    "Conexão cai toda hora, é urgente",
    "Solicitação de reembolso: cobrança dupla",
)
_EN_LINES = (
    "Hello, the printer on the third floor stopped working again.",
    "I tried restarting it twice but the error stays on the screen.",
    "Could you please have a look today? The whole team depends on it.",
    "Attached you will find the screenshot of the error message.",
    "Thanks in advance for your help.",
)
_PT_LINES = (
    "Olá, a impressora do terceiro andar parou de funcionar de novo.",
    "Já reiniciei duas vezes mas a mensagem de erro continua na tela.",
    "Vocês poderiam verificar ainda hoje? A equipe toda depende dela.",
    "Em anexo segue a captura de tela com a mensagem de erro.",
    "Agradeço desde já pela atenção. Até logo, João Conceição.",
)


@dataclass(frozen=True)
class Item:
    kind: str
    mail_from: str
    raw: bytes


def generate(count: int, seed: int = 11) -> list[Item]:
    """`count` messages in delivery order, the same for the same `count` and `seed`."""
    return list(_items(count, random.Random(seed)))


def _items(count: int, rng: random.Random) -> Iterator[Item]:
    kinds, weights = list(MIX), list(MIX.values())
    #: (message-id, sender, subject, ticket number by order of arrival) of new requests.
    opened: list[tuple[str, str, str, int]] = []
    for number in range(count):
        kind = "new" if not opened else rng.choices(kinds, weights)[0]
        big = number % BIG_EVERY == BIG_EVERY // 2 or (count <= BIG_EVERY and number == 1)
        message_id = f"bench-{number}@{_domain(number)}"
        if kind == "new":
            sender = f"customer{number}@{_domain(number)}"
            portuguese = rng.random() < 0.5
            subject = rng.choice(_PT_SUBJECTS if portuguese else _EN_SUBJECTS)
            opened.append((message_id, sender, subject, len(opened) + 1))
            raw = _compose(rng, number, sender, subject, message_id, portuguese, big=big)
            yield Item(kind, sender, raw)
            continue
        original, sender, subject, ticket = rng.choice(opened)
        if kind == "auto_reply":
            yield Item(kind, sender, _auto_reply(number, sender, subject, original, message_id))
            continue
        portuguese = any(ch in subject for ch in "ãçéêõ")
        threading = {"In-Reply-To": f"<{original}>", "References": f"<{original}>"}
        tagged = f"Re: [{SUBJECT_PREFIX} #{ticket}] {subject}"
        raw = _compose(
            rng,
            number,
            sender,
            {"reply_threaded": tagged, "reply_tag_only": tagged}.get(kind, f"Re: {subject}"),
            message_id,
            portuguese,
            extra=threading if kind == "reply_threaded" else {},
            big=big,
        )
        yield Item(kind, sender, raw)


def _domain(number: int) -> str:
    return ("example.com", "exemplo.com.br", "customer.example")[number % 3]


def _compose(
    rng: random.Random,
    number: int,
    sender: str,
    subject: str,
    message_id: str,
    portuguese: bool,
    *,
    extra: dict[str, str] | None = None,
    big: bool = False,
) -> bytes:
    charset = CHARSETS[number % len(CHARSETS)]
    lines = _PT_LINES if portuguese else _EN_LINES
    text = "\n\n".join(rng.sample(lines, k=rng.randint(2, len(lines)))) + "\n"
    body: MIMEBase = _text(text, "plain", charset)
    if rng.random() < 0.3:
        alternative = MIMEMultipart("alternative")
        alternative.attach(body)
        html = "".join(f"<p>{line}</p>" for line in text.strip().split("\n\n"))
        alternative.attach(_text(f"<html><body>{html}</body></html>", "html", charset))
        body = alternative
    attachments = []
    if big:
        attachments.append(_attachment(rng, "logs.zip", BIG_ATTACHMENT))
    elif rng.random() < 0.12:
        attachments.append(_attachment(rng, "screenshot.png", rng.randint(8_000, 120_000)))
    if attachments:
        mixed = MIMEMultipart("mixed")
        mixed.attach(body)
        for part in attachments:
            mixed.attach(part)
        body = mixed
    name = "João Conceição" if portuguese else "Pat Customer"
    body["From"] = f"{Header(name, charset).encode()} <{sender}>"
    body["To"] = QUEUE
    # Non-ASCII subjects travel as encoded words in the message's own charset.
    body["Subject"] = Header(subject, charset).encode() if not subject.isascii() else subject
    body["Date"] = format_datetime(DATE + timedelta(seconds=number))
    body["Message-ID"] = f"<{message_id}>"
    for header, value in (extra or {}).items():
        body[header] = value
    return _crlf(body.as_bytes())


def _text(text: str, subtype: str, charset: str) -> MIMEText:
    if charset == "utf-8":
        return MIMEText(text, subtype, "utf-8")
    encoding = Charset(charset)
    encoding.body_encoding = QP
    part = MIMEText("", subtype)
    part.set_payload(text, encoding)
    return part


def _attachment(rng: random.Random, filename: str, size: int) -> MIMEApplication:
    part = MIMEApplication(rng.randbytes(size), "octet-stream")
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


def _auto_reply(number: int, sender: str, subject: str, original: str, message_id: str) -> bytes:
    return (
        f"From: {sender}\r\n"
        f"To: {QUEUE}\r\n"
        f"Subject: Automatic reply: {Header(subject, 'utf-8').encode()}\r\n"
        f"Date: {format_datetime(DATE + timedelta(seconds=number))}\r\n"
        f"Message-ID: <{message_id}>\r\n"
        f"In-Reply-To: <{original}>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "X-Auto-Response-Suppress: All\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "I am out of the office until Monday and will answer your mail then.\r\n"
    ).encode()


def write_mbox(items: list[Item], path: Path) -> None:
    """The corpus as an mbox file, as `mailtickets import` reads it."""
    with path.open("wb") as mbox:
        for item in items:
            mbox.write(f"From {item.mail_from} Mon Nov  2 09:00:00 2026\n".encode())
            for line in item.raw.replace(b"\r\n", b"\n").split(b"\n"):
                mbox.write(b">" + line + b"\n" if line.startswith(b"From ") else line + b"\n")
            mbox.write(b"\n")


def single(attachment: int, seed: int = 11) -> Item:
    """One new request carrying an attachment of `attachment` bytes."""
    rng = random.Random(seed)
    sender = "customer@example.com"
    mail = MIMEMultipart("mixed")
    mail.attach(MIMEText("The full export is attached.\n", "plain", "utf-8"))
    mail.attach(_attachment(rng, "export.zip", attachment))
    mail["From"] = sender
    mail["To"] = QUEUE
    mail["Subject"] = "Export attached"
    mail["Date"] = format_datetime(DATE)
    mail["Message-ID"] = "<bench-big@example.com>"
    return Item("new", sender, _crlf(mail.as_bytes()))


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
