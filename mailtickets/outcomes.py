"""What became of a message taken in: the names stored in `inbound_message.outcome`.

A plain vocabulary at the bottom of the layers, so that the pipeline's `Stop` in
`mailtickets.errors` can carry one, and every writer and reader names them the same way.
"""

from __future__ import annotations

import enum


class Outcome(enum.StrEnum):
    """What became of an intake row (`InboundMessage.outcome`), named once for every writer."""

    NEW_TICKET = "new_ticket"
    FOLLOW_UP = "follow_up"
    AGENT_REPLY = "agent_reply"
    #: An agent's answer held back: someone else answered since the mail it replies to.
    REPLY_HELD = "reply_held"
    NOTE = "note"
    COMMANDS = "commands"
    COMMAND_ERROR = "command_error"
    SATISFACTION = "satisfaction"
    #: Mail from an agent's address that proves nothing: an unverified note on its ticket.
    UNVERIFIED = "unverified"
    #: Mail from an agent's address that names no ticket and no customer: the agent is told.
    NOT_RECORDED = "not_recorded"
    #: An agent's reply with nothing but our own quoted notice: nothing sent, the agent told.
    NOTHING_NEW = "nothing_new"
    DUPLICATE = "duplicate"
    AUTO_REPLY = "auto_reply"
    BULK = "bulk"
    BOUNCE = "bounce"
    OWN_MAIL = "own_mail"
    QUARANTINED = "quarantined"
    #: Put back in line by an operator after being held (e.g. not spam after all).
    RELEASED = "released"
    #: Set aside by an operator (`quarantine discard`).
    DISCARDED = "discarded"
    #: Raw bytes removed by the retention purge.
    PURGED = "purged"
    #: Never stored: a message that failed and waits for its next attempt.
    RETRY = "retry"
