"""Parse the raw bytes; a message nothing can be read from is quarantined."""

from __future__ import annotations

from mailtickets.db.models import InboundMessage
from mailtickets.errors import Quarantine
from mailtickets.mail.parse import ParsedMail, parse


def parse_message(intake: InboundMessage) -> ParsedMail:
    if not intake.raw.strip():
        raise Quarantine("empty message (0 bytes of content)")
    try:
        return parse(intake.raw)
    except RecursionError as exc:
        raise Quarantine("MIME structure nested too deeply to parse") from exc
    except Exception as exc:  # parsing is deterministic: retrying cannot help
        raise Quarantine(f"cannot parse the message: {type(exc).__name__}: {exc}") from exc
