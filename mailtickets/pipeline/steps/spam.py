"""Keep spam out: the MTA's verdict, the sender block and allow lists, and rules that say so.

Spam is quarantined with a reason starting `spam:` and never acknowledged. An operator who
releases it (`quarantine retry`) has judged it: a released message is not checked again.
"""

from __future__ import annotations

from mailtickets.errors import Quarantine
from mailtickets.mail.addresses import normalise
from mailtickets.mail.spam import verdict
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import MessageContext


def hold_spam(ctx: MessageContext) -> None:
    if ctx.intake.outcome == Outcome.RELEASED or ctx.agent is not None:
        return
    spam = ctx.config.spam
    why = verdict(
        ctx.mail,
        ctx.sender_address,
        normalise(ctx.intake.mail_from or "") or None,
        block=spam.block,
        allow=spam.allow,
        mta_headers=spam.mta_headers,
        rule=ctx.routing.spam_rule if ctx.routing else None,
    )
    if why:
        raise Quarantine(f"spam: {why}")
