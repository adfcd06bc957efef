"""Typed models, one module per aggregate; importing this package registers them all."""

from mailtickets.db.models.directory import Agent, AssignmentCursor, Contact, Queue
from mailtickets.db.models.flood import NoticeTally
from mailtickets.db.models.held import HeldReply, HeldState
from mailtickets.db.models.intake import InboundMessage, InboundRaw, IntakeStatus
from mailtickets.db.models.lease import Lease
from mailtickets.db.models.mailbox import MailboxCursor
from mailtickets.db.models.oncall import OnCallPage
from mailtickets.db.models.outbound import HELD, OutboundMessage, OutboundStatus
from mailtickets.db.models.satisfaction import SatisfactionRating
from mailtickets.db.models.ticket import (
    Attachment,
    AttachmentChunk,
    Event,
    EventKind,
    Follower,
    Message,
    MessageKind,
    Participant,
    Priority,
    SlaNotification,
    Tag,
    Ticket,
    TicketStatus,
)
from mailtickets.db.models.webhook import WebhookDelivery, WebhookStatus

__all__ = [
    "HELD",
    "Agent",
    "AssignmentCursor",
    "Attachment",
    "AttachmentChunk",
    "Contact",
    "Event",
    "EventKind",
    "Follower",
    "HeldReply",
    "HeldState",
    "InboundMessage",
    "InboundRaw",
    "IntakeStatus",
    "Lease",
    "MailboxCursor",
    "Message",
    "MessageKind",
    "NoticeTally",
    "OnCallPage",
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
    "WebhookDelivery",
    "WebhookStatus",
]
