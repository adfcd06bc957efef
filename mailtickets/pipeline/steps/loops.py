"""Recognise bounces, auto-replies, bulk and list mail, and our own mail."""

from __future__ import annotations

from mailtickets.errors import Stop
from mailtickets.mail.loops import Automated, classify
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import Received

#: The outcome of a message that no person wrote, by what it is.
AUTOMATED_OUTCOMES = {
    Automated.AUTO_REPLY: Outcome.AUTO_REPLY,
    Automated.BULK: Outcome.BULK,
    Automated.BOUNCE: Outcome.BOUNCE,
    Automated.OWN: Outcome.OWN_MAIL,
}


def detect_automated(ctx: Received) -> None:
    verdict = classify(
        ctx.mail, ctx.intake.mail_from, ctx.config.own_addresses, ctx.config.own_domains
    )
    ctx.automated = verdict
    if verdict is None:
        return
    if verdict.kind is Automated.OWN:
        raise Stop(AUTOMATED_OUTCOMES[verdict.kind], verdict.reason)
    ctx.bounce = verdict.bounce
