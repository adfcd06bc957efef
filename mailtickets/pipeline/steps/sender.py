"""Who sent it: the From address, else the envelope sender."""

from __future__ import annotations

from mailtickets.errors import Quarantine
from mailtickets.mail.addresses import is_valid, normalise
from mailtickets.pipeline.context import MessageContext, Received


def identify_sender(received: Received) -> MessageContext:
    envelope = normalise(received.intake.mail_from or "")
    address = received.mail.from_address or (envelope if is_valid(envelope) else None)
    if address is None and received.bounce is None:
        raise Quarantine("no sender address: no usable From header and no envelope sender")
    # The queue the message was sent to, until a ticket it belongs to says otherwise.
    return MessageContext.known(
        received,
        sender_address=address or "mailer-daemon",
        sender_name=received.mail.from_name,
        queue=received.queue_of_recipients(),
    )
