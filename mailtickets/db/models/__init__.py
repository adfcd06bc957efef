"""Typed models, one module per aggregate; importing this package registers them all."""

from mailtickets.db.models.directory import Agent, Contact, Queue
from mailtickets.db.models.intake import InboundMessage, InboundRaw, IntakeStatus
from mailtickets.db.models.lease import Lease
from mailtickets.db.models.mailbox import MailboxCursor
from mailtickets.db.models.outbound import HELD, OutboundMessage, OutboundStatus
from mailtickets.db.models.satisfaction import SatisfactionRating
from mailtickets.db.models.ticket import (
    Attachment,
    AttachmentChunk,
    Event,
    EventKind,
    Message,
    MessageKind,
    Participant,
    Priority,
    SlaNotification,
    Tag,
    Ticket,
    TicketStatus,
)

__all__ = [
    "HELD",
    "Agent",
    "Attachment",
    "AttachmentChunk",
    "Contact",
    "Event",
    "EventKind",
    "InboundMessage",
    "InboundRaw",
    "IntakeStatus",
    "Lease",
    "MailboxCursor",
    "Message",
    "MessageKind",
    "OutboundMessage",
    "OutboundStatus",
    "Participant",
    "Priority",
    "Queue",
    "SatisfactionRating",
    "SlaNotification",
    "Tag",
    "Ticket",
    "TicketStatus",
]
