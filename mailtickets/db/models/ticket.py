"""The ticket aggregate: the ticket, its messages and their attachments, participants, events.

Only `mailtickets.services.tickets` changes these rows; every change writes an `Event`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailtickets.db.base import Base, string_enum
from mailtickets.db.models.directory import ADDRESS, Agent, Contact, Queue
from mailtickets.db.ticket_status import TicketStatus as TicketStatus


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class MessageKind(enum.StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    NOTE = "note"
    AUTO = "auto"
    BOUNCE = "bounce"
    SYSTEM = "system"
    #: Mail from an agent's address that does not prove it came from them: kept for the
    #: agents like a note, never relayed, never a command or an answer.
    UNVERIFIED = "unverified"
    #: An agent's answer held back because another answer reached the customer after the
    #: mail it replies to (`HeldReply`); it becomes AGENT if its agent sends it anyway.
    HELD = "held"


class EventKind(enum.StrEnum):
    """What an `Event` records. Stored as these strings; the SLA clocks and the reports read
    some of them back, so a kind is named here once and nowhere else."""

    CREATED = "created"
    MESSAGE_CUSTOMER = "message_customer"
    MESSAGE_AGENT = "message_agent"
    MESSAGE_NOTE = "message_note"
    MESSAGE_AUTO = "message_auto"
    MESSAGE_BOUNCE = "message_bounce"
    MESSAGE_SYSTEM = "message_system"
    MESSAGE_UNVERIFIED = "message_unverified"
    MESSAGE_HELD = "message_held"
    STATUS = "status"
    REOPENED = "reopened"
    PRIORITY = "priority"
    ASSIGNED = "assigned"
    TAGGED = "tagged"
    PARTICIPANT_ADDED = "participant_added"
    PARTICIPANT_REMOVED = "participant_removed"
    JOINED = "joined"
    #: Added by mail that may not decide who the ticket mails: listed, mailed once confirmed.
    PARTICIPANT_PENDING = "participant_pending"
    #: An agent confirmed a pending participant (`#cc add`, `#cc keep`): mailed from now on.
    PARTICIPANT_CONFIRMED = "participant_confirmed"
    #: Addresses a message named that did not join (`data["why"]`): listed, never mailed.
    PARTICIPANTS_NOT_ADDED = "participants_not_added"
    #: An answer left participants out to stay within `[outgoing] max_recipients`.
    RECIPIENTS_CAPPED = "recipients_capped"
    MERGED = "merged"
    MERGED_FROM = "merged_from"
    REFERENCE_IGNORED = "reference_ignored"
    OPENED_ON_BEHALF = "opened_on_behalf"
    #: Why mail from an agent's address was kept as an unverified note (`data["why"]`).
    AGENT_UNVERIFIED = "agent_unverified"
    #: An agent's reply held only our own quoted notice: nothing was sent.
    NOTHING_NEW = "nothing_new"
    COMMANDS_REJECTED = "commands_rejected"
    ROUTED = "routed"
    ANSWERED_AUTOMATICALLY = "answered_automatically"
    MACRO_FAILED = "macro_failed"
    ACKNOWLEDGEMENT_QUEUED = "acknowledgement_queued"
    ACKNOWLEDGEMENT_WITHHELD = "acknowledgement_withheld"
    #: The agents' notice of a customer message held back: its sender floods (`data["flood"]`).
    NOTICE_WITHHELD = "notice_withheld"
    DELIVERY_FAILED = "delivery_failed"
    DELIVERY_DELAYED = "delivery_delayed"
    SATISFACTION_REQUESTED = "satisfaction_requested"
    SATISFACTION_RATED = "satisfaction_rated"
    SATISFACTION_CHANGED = "satisfaction_changed"
    SATISFACTION_WITHHELD = "satisfaction_withheld"
    SATISFACTION_UNREADABLE = "satisfaction_unreadable"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    AUTO_CLOSED = "auto_closed"
    #: Assigned to the agent on call of a `[[rota]]` (`data["rota"]`, `data["ack_due"]`).
    ON_CALL = "on_call"
    #: The agent on call did not act in time: the next one and the managers were told.
    ON_CALL_ESCALATED = "on_call_escalated"
    FOLLOWED = "followed"
    UNFOLLOWED = "unfollowed"
    #: An agent's out-of-office reply to mail about this ticket marked them away.
    AGENT_AWAY = "agent_away"
    #: What became of a held answer (`data["held"]` is the `HeldReply` id).
    HELD_REPLY_SENT = "held_reply_sent"
    HELD_REPLY_DISCARDED = "held_reply_discarded"
    HELD_REPLY_EXPIRED = "held_reply_expired"

    @classmethod
    def message(cls, kind: MessageKind) -> EventKind:
        """The event that records a message of `kind` joining a ticket."""
        return cls(f"message_{kind.value}")


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (Index(None, "status", "queue_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    #: The closed ticket this one continues, when a customer wrote after the grace period.
    linked_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    #: Set when an agent merged this ticket into another; mail to it then goes there.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    subject: Mapped[str] = mapped_column(String(998))
    status: Mapped[TicketStatus] = mapped_column(string_enum(TicketStatus))
    priority: Mapped[Priority] = mapped_column(string_enum(Priority))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # SLA due times, recomputed on every change (services.sla.refresh); None: not running.
    first_response_due: Mapped[datetime | None]
    next_response_due: Mapped[datetime | None]
    resolution_due: Mapped[datetime | None]
    #: The earliest warning or due time not yet notified: the sweep reads only tickets whose
    #: moment has come, through this index, whatever the number of open tickets.
    sla_check_at: Mapped[datetime | None] = mapped_column(index=True)
    #: When `mailtickets import` opened it from mail imported as history; such a ticket keeps
    #: its original dates and no SLA clock (see `services.sla.policy`).
    imported_at: Mapped[datetime | None]

    queue: Mapped[Queue] = relationship()
    contact: Mapped[Contact] = relationship()
    assignee: Mapped[Agent | None] = relationship()
    messages: Mapped[list[Message]] = relationship(back_populates="ticket", order_by="Message.id")
    participants: Mapped[list[Participant]] = relationship(order_by="Participant.id")
    tags: Mapped[list[Tag]] = relationship(order_by="Tag.name", cascade="all, delete-orphan")


class SlaNotification(Base):
    """One SLA warning or breach notice: unique per (ticket, kind, due time), so a restart or
    a second instance can never send it twice."""

    __tablename__ = "sla_notification"
    __table_args__ = (UniqueConstraint("ticket_id", "kind", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))  # e.g. first_response_warning
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime]


class Tag(Base):
    """A word agents put on a ticket (`#tag billing`)."""

    __tablename__ = "ticket_tag"
    __table_args__ = (UniqueConstraint("ticket_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(50), index=True)


class Follower(Base):
    """An agent who hears of every customer reply and agent reply on a ticket (`#follow`)."""

    __tablename__ = "ticket_follower"
    __table_args__ = (UniqueConstraint("ticket_id", "agent_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), index=True)
    added_at: Mapped[datetime]

    agent: Mapped[Agent] = relationship()


class Participant(Base):
    """A contact who receives the ticket's mail: the requester and anyone Cc'd; a pending one
    is listed but not mailed until an agent confirms them."""

    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("ticket_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # requester | cc
    added_at: Mapped[datetime]
    #: Listed on the ticket but not mailed until an agent confirms them (`#cc add`).
    pending: Mapped[bool] = mapped_column(default=False, server_default=false())

    contact: Mapped[Contact] = relationship()


class Message(Base):
    """One mail on a ticket, in or out; `message_id` is unique so nothing is stored twice."""

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    kind: Mapped[MessageKind] = mapped_column(string_enum(MessageKind))
    author_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))
    author_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    from_address: Mapped[str | None] = mapped_column(ADDRESS)
    from_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(998))
    date: Mapped[datetime | None]
    received_at: Mapped[datetime]
    body_text: Mapped[str] = mapped_column(Text)
    new_text: Mapped[str] = mapped_column(Text)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))
    outbound_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_message.id"))

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    author_agent: Mapped[Agent | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id")


class Attachment(Base):
    """A file from a message; over the size cap only its description is kept (`omitted`).

    Its bytes are `AttachmentChunk` rows, read and written only through
    `mailtickets.db.files`, so listing a ticket's files never reads them.
    """

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    inline: Mapped[bool]
    content_id: Mapped[str | None] = mapped_column(String(998))
    omitted: Mapped[str | None] = mapped_column(String(200))


class AttachmentChunk(Base):
    """Bytes `seq` of a kept file, in order from 0: files move a chunk at a time."""

    __tablename__ = "attachment_chunk"

    attachment_id: Mapped[int] = mapped_column(
        ForeignKey("attachment.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Event(Base):
    """The audit trail: what happened to a ticket, who did it and why."""

    __tablename__ = "event"
    # The acknowledgement limit counts a sender's recent acknowledgements for every new
    # ticket; without this index that count reads the whole audit trail.
    __table_args__ = (Index(None, "actor", "kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str | None] = mapped_column(ADDRESS)
    data: Mapped[dict[str, Any]]
