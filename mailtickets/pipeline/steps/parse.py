"""Step 1: parse the raw bytes; a message nothing can be read from is quarantined."""

from __future__ import annotations

from mailtickets.errors import Quarantine
from mailtickets.mail.parse import parse
from mailtickets.pipeline.context import MessageContext


def parse_message(ctx: MessageContext) -> None:
    if not ctx.intake.raw.strip():
        raise Quarantine("empty message (0 bytes of content)")
    try:
        ctx.mail = parse(ctx.intake.raw)
    except RecursionError as exc:
        raise Quarantine("MIME structure nested too deeply to parse") from exc
    except Exception as exc:  # parsing is deterministic: retrying cannot help
        raise Quarantine(f"cannot parse the message: {type(exc).__name__}: {exc}") from exc
