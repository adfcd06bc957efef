"""Step 4: who sent it: the From address, else the envelope sender."""

from __future__ import annotations

from mailtickets.errors import Quarantine
from mailtickets.mail.addresses import is_valid, normalise
from mailtickets.pipeline.context import MessageContext


def identify_sender(ctx: MessageContext) -> None:
    envelope = normalise(ctx.intake.mail_from or "")
    address = ctx.mail.from_address or (envelope if is_valid(envelope) else None)
    if address is None and ctx.bounce is None:
        raise Quarantine("no sender address: no usable From header and no envelope sender")
    ctx.sender_address = address or "mailer-daemon"
    ctx.sender_name = ctx.mail.from_name
