"""Step 2: recognise auto-replies, bulk and list mail, bounces and our own mail."""

from __future__ import annotations

from mailtickets.mail.dsn import read_bounce
from mailtickets.mail.loops import Automated, classify
from mailtickets.pipeline.context import MessageContext, Stop


def detect_automated(ctx: MessageContext) -> None:
    verdict = classify(
        ctx.mail, ctx.intake.mail_from, ctx.config.own_addresses, ctx.config.own_domains
    )
    ctx.automated = verdict
    if verdict is None:
        return
    if verdict.kind is Automated.OWN:
        raise Stop("own_mail", verdict.reason)
    if verdict.kind is Automated.BOUNCE:
        ctx.bounce = read_bounce(ctx.mail)
