"""The new text of the message, without quoted history and signature."""

from __future__ import annotations

from mailtickets.mail.quotes import new_text
from mailtickets.mail.subjects import is_forward
from mailtickets.pipeline.context import MessageContext


def extract_new_text(ctx: MessageContext) -> None:
    text = ctx.mail.text
    # A forward's quoted part is what the sender wants us to read.
    ctx.new_text = text.strip() if is_forward(ctx.mail.subject) else new_text(text)
