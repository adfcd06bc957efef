"""Who sent it: the From address, else the envelope sender."""

from __future__ import annotations

from mailtickets.errors import Quarantine, Stop
from mailtickets.mail.addresses import is_valid, normalise
from mailtickets.pipeline.context import MessageContext, Received
from mailtickets.pipeline.steps.loops import AUTOMATED_OUTCOMES

#: Who a bounce is from when it names nobody ("From: Mail Delivery System <>").
MAIL_SYSTEM = "mailer-daemon"


def identify_sender(received: Received) -> MessageContext:
    envelope = normalise(received.intake.mail_from or "")
    address = received.mail.from_address or (envelope if is_valid(envelope) else None)
    if address is None and received.bounce is None:
        verdict = received.automated
        if verdict is not None:
            # Nobody to answer or to file it under: a robot's mail ends here, not in quarantine.
            raise Stop(AUTOMATED_OUTCOMES[verdict.kind], f"{verdict.reason}; no sender address")
        raise Quarantine("no sender address: no usable From header and no envelope sender")
    # The queue the message was sent to, until a ticket it belongs to says otherwise.
    return MessageContext.known(
        received,
        sender_address=address or MAIL_SYSTEM,
        sender_name=received.mail.from_name,
        queue=received.queue_of_recipients(),
    )
