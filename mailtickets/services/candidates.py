"""The tickets a reply without any reference may join, and the text it may quote from them.

Read only; `pipeline.steps.match` decides. A customer can quote what they wrote and what we
sent them: their messages, agents' answers, and our mail to them as it was rendered (the
acknowledgement, the resolved notice…), for as long as retention keeps its bytes.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from mailtickets.db.models import (
    Contact,
    Message,
    MessageKind,
    OutboundMessage,
    Participant,
    Ticket,
    TicketStatus,
)
from mailtickets.mail.parse import parse

#: The most recently active tickets of one sender that a reply is compared with; a sender
#: with more open tickets than this is a robot, not a customer.
MAX_JOINABLE = 100
#: The newest messages, and the newest of our mails, of those tickets that a quote is
#: compared with: replies quote recent mail.
MAX_QUOTABLE = 100
MAX_QUOTABLE_SENT = 20


class Quotable(NamedTuple):
    """A text a customer may quote: which ticket's, which mail, and when it was written."""

    ticket_id: int
    message_id: str
    text: str
    date: datetime | None


def joinable_tickets(session: Session, address: str, since: datetime) -> list[Ticket]:
    """The tickets `address` takes part in that a reply of theirs may still join: open or
    pending, or resolved or closed at or after `since`; the most recently active first."""
    query = (
        select(Ticket)
        .join(Participant, Participant.ticket_id == Ticket.id)
        .join(Contact, Participant.contact_id == Contact.id)
        .where(
            Contact.address == address,
            Ticket.merged_into_id.is_(None),
            or_(
                Ticket.status.in_((TicketStatus.OPEN, TicketStatus.PENDING)),
                and_(Ticket.status == TicketStatus.RESOLVED, Ticket.resolved_at >= since),
                and_(Ticket.status == TicketStatus.CLOSED, Ticket.closed_at >= since),
            ),
        )
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        .limit(MAX_JOINABLE)
    )
    return list(session.scalars(query))


def quotable_texts(session: Session, ticket_ids: list[int]) -> list[Quotable]:
    """What the customers of these tickets wrote or were sent. Notes never reach a customer;
    robots' mail is nothing they answer."""
    written = session.execute(
        select(Message.ticket_id, Message.message_id, Message.new_text, Message.date)
        .where(
            Message.ticket_id.in_(ticket_ids),
            Message.kind.in_((MessageKind.CUSTOMER, MessageKind.AGENT)),
        )
        .order_by(Message.id.desc())
        .limit(MAX_QUOTABLE)
    )
    sent = session.execute(
        select(OutboundMessage.ticket_id, OutboundMessage.message_id, OutboundMessage.raw)
        .where(
            OutboundMessage.ticket_id.in_(ticket_ids),
            OutboundMessage.template.like("customer/%"),
            OutboundMessage.raw.is_not(None),
        )
        .order_by(OutboundMessage.id.desc())
        .limit(MAX_QUOTABLE_SENT)
    )
    texts = [Quotable(*row) for row in written]
    for ticket_id, message_id, raw in sent:
        if ticket_id is not None and raw is not None:
            mail = parse(raw)
            texts.append(Quotable(ticket_id, message_id, mail.text, mail.date))
    return texts
