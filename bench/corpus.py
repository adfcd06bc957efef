"""Seeded corpora of support mail: the same seed and size give the same corpus.

`generate` is the flood the throughput figures send: mostly new requests, then replies with
threading headers, replies that keep only the subject tag, replies that carry neither, and
auto-replies; text in English and Portuguese, in utf-8, iso-8859-1 and windows-1252, some
subjects as encoded words, some bodies with an HTML alternative, some attachments and a few
of them megabytes large.

`conversations` is the threading corpus: conversations between customers and an agent,
turn by turn, each turn knowing the conversation it belongs to. Its replies answer the mail
the writer actually received, so `bench.clients` writes them against a running instance.
Both corpora draw on the same subjects and text, which is why they share this module (about
400 lines) rather than each having one.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
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


# --- The threading corpus ---------------------------------------------------------------

#: What each turn of a conversation is, and its share once a conversation is open. Most
#: replies go to the signed Reply-To our mail gives; the rest reach the plain queue address
#: (a client that answers From, a customer who writes a new mail) with the threading
#: headers some clients keep and others drop, the subject tag or not, a quote or not.
CONVERSATION_MIX = {
    "new": 0.30,
    "agent_answer": 0.22,
    "reply_to_reply_address": 0.14,
    "reply_threaded": 0.06,
    "reply_references_only": 0.02,
    "reply_in_reply_to_only": 0.02,
    "reply_tag_only": 0.05,
    "reply_bare_quoted": 0.05,
    "reply_bare": 0.04,
    "follow_up_own": 0.02,
    "follow_up_own_bare": 0.02,
    "auto_reply": 0.04,
    "auto_reply_tag_only": 0.02,
}
#: New requests whose subject says nothing of their matter; the same few across customers.
GENERIC_SHARE = 0.12
#: New requests from a customer who wrote before, sometimes about the same thing again.
RETURNING_SHARE = 0.3
#: Replies go to one of the conversations opened last.
RECENT_CONVERSATIONS = 60
AGENT = "alice@acme.example"

_EN_GENERIC = ("Help", "Question", "Problem", "Urgent", "Hello", "")
_PT_GENERIC = ("Ajuda", "Dúvida", "Problema", "Urgente", "Olá", "")
_EN_NAMES = ("Pat Customer", "Sam Lee", "Alex Morgan", "Jamie Fox")
_PT_NAMES = ("João Conceição", "Ana Cliente", "Maria Gonçalves", "Luís Araújo")
_EN_DETAILS = (
    "My reference is {ref}.",
    "It started on {day} at about {hour} o'clock.",
    "The screen shows error E{ref}.",
    "This concerns order {ref} from {day}.",
)
_PT_DETAILS = (
    "Minha referência é {ref}.",
    "Começou na {day} por volta das {hour} horas.",
    "A tela mostra o erro E{ref}.",
    "Trata-se do pedido {ref} de {day}.",
)
_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
_PT_DAYS = ("segunda", "terça", "quarta", "quinta", "sexta")
_EN_REPLIES = (
    "Thanks, I tried that but it still fails.",
    "It works now, thank you very much!",
    "Any news on this? We are still waiting.",
    "I did what you asked and nothing changed.",
    "Sorry, one more thing about this.",
)
_PT_REPLIES = (
    "Obrigado, tentei isso mas continua falhando.",
    "Agora funcionou, muito obrigada!",
    "Alguma novidade? Continuamos esperando.",
    "Fiz o que vocês pediram e nada mudou.",
    "Desculpe, mais uma coisa sobre isso.",
)
_EN_ANSWERS = (
    "Thanks for the details, we are looking into it now.",
    "Could you restart the device and tell us what the screen says afterwards?",
    "We have reset your access; please try again and let us know.",
    "The invoice will be corrected and sent again by {day}.",
    "I have passed this to our field team under reference {ref}.",
)
_PT_ANSWERS = (
    "Obrigado pelos detalhes, já estamos verificando.",
    "Você pode reiniciar o aparelho e nos dizer o que aparece na tela depois?",
    "Redefinimos o seu acesso; tente novamente e nos avise, por favor.",
    "A fatura será corrigida e reenviada até {day}.",
    "Encaminhei para a nossa equipe de campo com a referência {ref}.",
)
#: Agents close some conversations as they answer; customers may write again after that.
RESOLVE_SHARE = 0.15


@dataclass(frozen=True)
class Turn:
    """One message of the threading corpus: who writes it, what, and in which conversation."""

    number: int
    kind: str
    #: The number of the turn that opened the conversation: its ticket is where this belongs.
    thread: int
    customer: str
    name: str
    portuguese: bool
    #: The conversation's subject, as its new request had it.
    subject: str
    #: Whether that subject is one of the generic few (Help, Ajuda…) many customers write.
    generic: bool
    text: str

    @property
    def message_id(self) -> str:
        domain = "acme.example" if self.kind == "agent_answer" else self.customer.split("@")[1]
        return f"turn-{self.number}@{domain}"


def conversations(count: int, seed: int = 11) -> list[Turn]:
    """`count` turns in the order they are written, the same for the same `count` and `seed`."""
    rng = random.Random(seed)
    kinds, weights = list(CONVERSATION_MIX), list(CONVERSATION_MIX.values())
    customers: list[tuple[str, str, bool]] = []
    opened: list[Turn] = []
    turns: list[Turn] = []
    for number in range(count):
        kind = "new" if not opened else rng.choices(kinds, weights)[0]
        if kind == "new":
            turn = _new_request(rng, number, customers)
            opened.append(turn)
        else:
            first = rng.choice(opened[-RECENT_CONVERSATIONS:])
            turn = replace(
                first, number=number, kind=kind, text=_written(rng, kind, first.portuguese)
            )
        turns.append(turn)
    return turns


def _new_request(rng: random.Random, number: int, customers: list[tuple[str, str, bool]]) -> Turn:
    if customers and rng.random() < RETURNING_SHARE:
        address, name, portuguese = rng.choice(customers)
    else:
        portuguese = rng.random() < 0.5
        address = f"customer{len(customers)}@{_domain(len(customers))}"
        name = rng.choice(_PT_NAMES if portuguese else _EN_NAMES)
        customers.append((address, name, portuguese))
    generic = rng.random() < GENERIC_SHARE
    if generic:
        subject = rng.choice(_PT_GENERIC if portuguese else _EN_GENERIC)
    else:
        subject = rng.choice(_PT_SUBJECTS if portuguese else _EN_SUBJECTS)
    text = _written(rng, "new", portuguese)
    return Turn(number, "new", number, address, name, portuguese, subject, generic, text)


def _written(rng: random.Random, kind: str, portuguese: bool) -> str:
    """What the writer of a `kind` turn writes, with details (references, days) that make
    each conversation's text its own, as real requests are."""
    details = {
        "ref": str(rng.randint(1000, 99999)),
        "day": rng.choice(_PT_DAYS if portuguese else _EN_DAYS),
        "hour": str(rng.randint(7, 19)),
    }
    detail = rng.choice(_PT_DETAILS if portuguese else _EN_DETAILS).format(**details)
    if kind == "new":
        lines = rng.sample(_PT_LINES if portuguese else _EN_LINES, k=rng.randint(2, 4))
        return "\n\n".join([*lines, detail])
    if kind == "agent_answer":
        answer = rng.choice(_PT_ANSWERS if portuguese else _EN_ANSWERS).format(**details)
        return f"#status resolved\n{answer}" if rng.random() < RESOLVE_SHARE else answer
    if kind.startswith("auto_reply"):
        if portuguese:
            return f"Estou fora do escritório até {details['day']} e responderei depois."
        return f"I am out of the office until {details['day']} and will answer your mail then."
    reply = rng.choice(_PT_REPLIES if portuguese else _EN_REPLIES)
    return f"{reply}\n\n{detail}" if rng.random() < 0.5 else reply


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
    mail["Message-ID"] = f"<bench-big-{seed}@example.com>"
    return Item("new", sender, _crlf(mail.as_bytes()))


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
