"""Read delivery status notifications (RFC 3464): which message bounced, for whom, and how."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from mailtickets.mail.addresses import normalise
from mailtickets.mail.parse import MAX_MESSAGE_ID, ParsedMail, decode_text, safe_text


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
    original_message_id: str | None
    failures: tuple[Failure, ...]

    @property
    def permanent(self) -> bool:
        return any(f.permanent for f in self.failures)


def read_bounce(mail: ParsedMail) -> Bounce:
    """What a delivery report says; fields it lacks are empty, never an error."""
    failures: list[Failure] = []
    original: str | None = None
    for part in _leaves(mail.message):
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            failures.extend(_failures(part))
        elif kind in ("message/rfc822", "text/rfc822-headers") and original is None:
            original = _returned_message_id(part)
    return Bounce(original, tuple(failures))


def _leaves(message: Message) -> list[Message]:
    found: list[Message] = []
    stack = [message]
    while stack and len(found) < 50:
        part = stack.pop()
        kind = part.get_content_type()
        payload = part.get_payload()
        if kind.startswith("multipart/") and isinstance(payload, list):
            stack.extend(p for p in reversed(payload) if isinstance(p, Message))
        else:
            found.append(part)
    return found


def _failures(part: Message) -> list[Failure]:
    blocks = part.get_payload()
    if not isinstance(blocks, list):  # unparsed: read the fields ourselves
        text = decode_text(part)
        blocks = [HeaderParser(policy=compat32).parsestr(b) for b in text.split("\n\n")]
    failures = []
    for block in blocks:
        if not isinstance(block, Message):
            continue
        recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        if not recipient:
            continue
        failures.append(
            Failure(
                recipient=normalise(safe_text(recipient.partition(";")[2] or recipient)),
                action=str(block.get("Action") or "").strip().lower(),
                status=str(block.get("Status") or "").strip().split(" ")[0],
            )
        )
    return failures


def _returned_message_id(part: Message) -> str | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        value = payload[0].get("Message-ID")
    else:
        value = HeaderParser(policy=compat32).parsestr(decode_text(part)).get("Message-ID")
    text = safe_text(str(value or "").strip().strip("<>").strip())[:MAX_MESSAGE_ID]
    return text or None
