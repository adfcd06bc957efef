"""Recognise bounces and read them: which message bounced, for whom, and how.

Standard reports are read field by field: RFC 3464 `message/delivery-status` and RFC 6533
`message/global-delivery-status` (what Postfix returns for mail sent with SMTPUTF8, as ours
is), with the returned message or its headers. Every other kind of bounce (Exim, qmail,
Postfix's and Exchange's plain text, Yahoo, Lotus, antivirus gateways, …) is read by Mailman's
detectors, flufl.bounce, but only for mail that comes from a mail system: a null or
MAILER-DAEMON return path, a robot sender, X-Failed-Recipients or a bounce subject. A customer
who forwards a bounce to us is a customer asking for help, whatever the text quotes.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from flufl.bounce import all_failures

from mailtickets.mail.addresses import is_valid, normalise
from mailtickets.mail.parse import MAX_MESSAGE_ID, ParsedMail, decode_text, safe_text

log = logging.getLogger(__name__)

RFC3464 = "RFC 3464 delivery-status"
RFC6533 = "RFC 6533 global-delivery-status"
TEXT = "mail system text"
_STATUS_PARTS = {
    "message/delivery-status": RFC3464,
    "message/global-delivery-status": RFC6533,
}
_RETURNED_MESSAGES = ("message/rfc822", "message/global")
_RETURNED_HEADERS = ("text/rfc822-headers", "message/global-headers")
#: Local parts mail systems send bounces from; a person is rarely called that.
ROBOT_SENDERS = frozenset(
    {"mailer-daemon", "mailer_daemon", "maildaemon", "mail-daemon", "mdaemon", "postmaster", "ndr"}
)
#: Words of bounce and delay-warning subjects, in the languages MTAs and Exchange write them.
BOUNCE_SUBJECT = re.compile(
    r"\b(?:undeliver(?:able|ed)|undelivered mail|non[- ]?deliver|returned mail|"
    r"mail delivery (?:failed|failure|warning|problem|system)|delivery (?:status notification|"
    r"failure|failed|notification|has failed|problem|report|warning)|failure notice|"
    r"(?:mail|message) (?:could not|couldn't) be delivered|delayed mail|warning: could not send|"
    r"mail error|returned to sender|user unknown|unzustellbar|nicht zustellbar|non remis|"
    r"non recapitabile|"
    r"não (?:foi possível )?entreg|no se puede entregar|onbestelbaar|kan ikke leveres|"
    r"olevererbart|niedostarczalne|ne peut être remis)",
    re.IGNORECASE,
)
#: A forward: whatever the subject quotes, a person sent it.
_FORWARDED = re.compile(r"^\s*(?:fwd?|fw|tr|wg|enc|rv|vs|vb|doorst)\s*:", re.IGNORECASE)
_WARNING_SUBJECT = re.compile(r"delay|warning|still being retried|verzögert|atras", re.IGNORECASE)
_ENHANCED_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_INLINE_MESSAGE_ID = re.compile(
    r"^\s*message-id:\s*<([^<>\s]{1,998})>", re.IGNORECASE | re.MULTILINE
)
#: Where a bounce's own report ends and its copy of the returned message begins.
_COPY_FOLLOWS = re.compile(
    r"^.*(?:original message|copy of the message|below this line|returned mail follows|"
    r"undelivered message headers).*$",
    re.IGNORECASE | re.MULTILINE,
)
_LISTED_RECIPIENT = re.compile(
    r"^\s*<([^<>\s@]+@[^<>\s]+)>:|^\s*([^<>\s@]+@[^<>\s]+) on \w", re.MULTILINE
)
_REPORT_CHARS = 20_000
_DETECTOR_PART_CHARS = 64 * 1024
_UNITEXT_ESCAPE = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")
#: Enough of a returned message to find our marker or reply address in it.
MAX_RETURNED_TEXT = 256 * 1024
_MAX_PARTS = 50


@dataclass(frozen=True)
class Failure:
    recipient: str
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str  # e.g. 5.1.1

    @property
    def permanent(self) -> bool:
        return self.action == "failed" and self.status.startswith("5")


@dataclass(frozen=True)
class Bounce:
    #: How it was read: RFC3464, RFC6533 or TEXT.
    format: str
    original_message_id: str | None
    failures: tuple[Failure, ...]
    #: What the bounce gives back of our message (its headers and text), where our marker and
    #: signed reply address can be found when the Message-ID was lost.
    returned_text: str = ""
    #: A warning that delivery is still being tried, not a failure.
    delayed: bool = False

    @property
    def permanent(self) -> bool:
        return any(f.permanent for f in self.failures)


def bounce_signal(mail: ParsedMail, mail_from: str | None) -> str | None:
    """What says `mail` comes from a mail system rather than a person, or None."""
    if mail_from == "" or (mail_from is None and _null_return_path(mail)):
        return "null return path"
    return_path = normalise(mail.header("Return-Path") or "").strip("<>")
    if mail_from is None and return_path.partition("@")[0] in ROBOT_SENDERS:
        return f"Return-Path {return_path}"
    local = (mail.from_address or "").partition("@")[0]
    if local in ROBOT_SENDERS:
        return f"sent by {mail.from_address}"
    if mail.from_address is None and "<>" in (mail.header("From") or ""):
        return "empty From address"
    if mail.header("X-Failed-Recipients") is not None:
        return "X-Failed-Recipients header"
    if BOUNCE_SUBJECT.search(mail.subject) and not _FORWARDED.match(mail.subject):
        return f"bounce subject {mail.subject[:60]!r}"
    return None


def _null_return_path(mail: ParsedMail) -> bool:
    """`Return-Path: <>`, as the delivering MTA wrote it: the envelope, when IMAP hides it."""
    value = mail.header("Return-Path")
    return value is not None and value.strip() in ("<>", "")


def read_bounce(mail: ParsedMail, mail_from: str | None = None) -> Bounce | None:
    """What a bounce says, or None when `mail` is not a bounce. Never raises on bad input."""
    parts = _leaves(mail.message)
    reports = [p for p in parts if p.get_content_type() in _STATUS_PARTS]
    returned = _returned(parts)
    failures = [f for part in reports for f in _failures(part)]
    if failures:
        kind = _STATUS_PARTS[reports[0].get_content_type()]
        delayed = all(f.action == "delayed" for f in failures)
        return Bounce(kind, returned[0], tuple(failures), returned[1], delayed)
    signal = bounce_signal(mail, mail_from)
    if signal is None and (reports or _is_report(mail.message)):
        signal = "delivery report"  # with its status fields missing: the text may say more
    if signal is None:
        return None
    return _text_bounce(mail, signal, returned)


def _is_report(message: Message) -> bool:
    report_type = str(message.get_param("report-type") or "").lower()
    return message.get_content_type() == "multipart/report" and report_type in (
        "delivery-status",
        "global-delivery-status",
    )


def _text_bounce(mail: ParsedMail, signal: str, returned: tuple[str | None, str]) -> Bounce | None:
    temporary, permanent = _detected(mail)
    if not (temporary or permanent):
        permanent = _failed_recipients_header(mail) or _listed(mail.text)
    evidence = bool(temporary or permanent or returned[0])
    if not evidence and (
        signal.startswith("bounce subject") or not BOUNCE_SUBJECT.search(mail.subject)
    ):
        # Neither says it alone: a person may write "Undeliverable parcel", and a robot's mail
        # that reports no failure (a vacation notice from postmaster) is for the loop rules.
        return None
    codes = [m.group(0) for m in _ENHANCED_STATUS.finditer(mail.text[:20_000])]
    hard = next((c for c in codes if c.startswith("5")), "5.0.0")
    soft = next((c for c in codes if c.startswith("4")), "4.0.0")
    failures = [Failure(a, "failed", hard) for a in sorted(permanent)]
    failures += [Failure(a, "delayed", soft) for a in sorted(temporary - permanent)]
    delayed = (bool(temporary) and not permanent) or (
        not failures and bool(_WARNING_SUBJECT.search(mail.subject))
    )
    inline = _INLINE_MESSAGE_ID.search(mail.text)
    original = returned[0] or (_clean_id(inline.group(1)) if inline else None)
    returned_text = (returned[1] + "\n" + mail.text)[:MAX_RETURNED_TEXT]
    return Bounce(TEXT, original, tuple(failures), returned_text, delayed)


def _detected(mail: ParsedMail) -> tuple[frozenset[str], frozenset[str]]:
    """Mailman's detectors: (temporary, permanent) failed addresses."""
    try:
        temporary, permanent = all_failures(_bounded(mail.message))
    except Exception:  # a detector tripping on odd mail has found nothing
        log.warning("flufl.bounce failed on message-id %s", mail.message_id, exc_info=True)
        return frozenset(), frozenset()
    return _addresses(temporary), _addresses(permanent)


def _bounded(message: Message) -> Message:
    """`message` with every part cut to `_DETECTOR_PART_CHARS`, for the detectors: they read
    every line with dozens of patterns (20 s for 5 MB), and a report comes first anyway."""

    def long(part: Message) -> bool:
        payload = part.get_payload()
        return isinstance(payload, str) and len(payload) > _DETECTOR_PART_CHARS

    if not any(long(part) for part in message.walk()):
        return message
    bounded = copy.deepcopy(message)
    for part in bounded.walk():
        if long(part):
            part.set_payload(str(part.get_payload())[:_DETECTOR_PART_CHARS])
    return bounded


def _addresses(found: frozenset[bytes]) -> frozenset[str]:
    decoded = (normalise(safe_text(a.decode("utf-8", "surrogateescape"))) for a in found)
    return frozenset(a for a in decoded if is_valid(a))


def _listed(text: str) -> frozenset[str]:
    """Addresses a mail system lists as failed before its copy of the message: Postfix's and
    qmail's `<address>: reason`, Exchange's `address on date`."""
    report = _COPY_FOLLOWS.split(text[:_REPORT_CHARS], maxsplit=1)[0]
    found = (normalise(a or b) for a, b in _LISTED_RECIPIENT.findall(report))
    return frozenset(a for a in found if is_valid(a))


def _failed_recipients_header(mail: ParsedMail) -> frozenset[str]:
    """Exim's and Gmail's X-Failed-Recipients, when no detector read the text."""
    values = ",".join(mail.headers("X-Failed-Recipients")).split(",")
    return frozenset(a for a in (normalise(v.strip().strip("<>")) for v in values) if is_valid(a))


def _leaves(message: Message) -> list[Message]:
    found: list[Message] = []
    stack = [message]
    while stack and len(found) < _MAX_PARTS:
        part = stack.pop()
        kind = part.get_content_type()
        payload = part.get_payload()
        if kind.startswith("multipart/") and isinstance(payload, list):
            stack.extend(p for p in reversed(payload) if isinstance(p, Message))
        else:
            found.append(part)
    return found


def _content(part: Message) -> str:
    """A message/* part's content as text, without the part's own headers."""
    text = decode_text(part).replace("\r\n", "\n")
    if part.is_multipart():
        # The stdlib parses it into messages (RFC 3464's blocks; RFC 6533's parts as if they
        # were message/rfc822): read back as bytes, they start with the part's own headers.
        text = text.partition("\n\n")[2]
    return text


def _failures(part: Message) -> list[Failure]:
    failures = []
    for chunk in re.split(r"\n[ \t]*\n", _content(part)):
        block = HeaderParser(policy=compat32).parsestr(chunk)
        recipient = _recipient(block)
        if recipient is None:
            continue
        failures.append(
            Failure(
                recipient=recipient,
                action=str(block.get("Action") or "").strip().lower().split(" ")[0],
                status=str(block.get("Status") or "").strip().split(" ")[0],
            )
        )
    return failures


def _recipient(block: Message) -> str | None:
    """The address we sent to: Original-Recipient when given, else Final-Recipient."""
    for name in ("Original-Recipient", "Final-Recipient"):
        value = safe_text(str(block.get(name) or "")).strip()
        if not value:
            continue
        kind, _, address = value.partition(";")
        if not address:
            address = kind
        elif kind.strip().lower() == "utf-8":
            # RFC 6533 writes what ASCII cannot hold as \x{HHHH}.
            address = _UNITEXT_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), address)
        address = normalise(address.strip().strip("<>"))
        if is_valid(address):
            return address
    return None


def _returned(parts: list[Message]) -> tuple[str | None, str]:
    """The returned message's Message-ID and text (headers, then body)."""
    original: str | None = None
    texts: list[str] = []
    for part in parts:
        kind = part.get_content_type()
        if kind in _RETURNED_MESSAGES:
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                message = payload[0]
            else:
                message = HeaderParser(policy=compat32).parsestr(_content(part))
            texts.append(_message_text(message))
        elif kind in _RETURNED_HEADERS:
            text = _content(part)
            message = HeaderParser(policy=compat32).parsestr(text)
            texts.append(text)
        else:
            continue
        if original is None:
            original = _clean_id(str(message.get("Message-ID") or ""))
    return original, "\n".join(texts)[:MAX_RETURNED_TEXT]


def _message_text(message: Message) -> str:
    """A returned message's headers and decoded text parts."""
    headers = "\n".join(f"{k}: {safe_text(str(v))}" for k, v in message.raw_items())
    bodies = [
        decode_text(leaf)
        for leaf in _leaves(message)
        if leaf.get_content_maintype() == "text" and not leaf.is_multipart()
    ]
    return "\n".join([headers, *bodies])


def _clean_id(value: str) -> str | None:
    text = safe_text(value.strip().strip("<>").strip())[:MAX_MESSAGE_ID]
    return text or None
