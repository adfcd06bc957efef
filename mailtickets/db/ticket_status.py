"""The states of a ticket, apart from its model: `tickets list --status` offers them without
importing the ORM."""

from __future__ import annotations

import enum


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer
    RESOLVED = "resolved"
    CLOSED = "closed"
