"""Signed references to tickets: reply addresses, our Message-IDs and the body marker.

A satisfaction request is answered on `<queue local>+csat.<ticket>.<sig>@<domain>`, so the
answer is recognised as a rating and never reopens the ticket.

All of them carry an HMAC so that they can be trusted without a lookup and cannot be forged or
altered: a reply address is `<queue local>+<token>@<domain>`, our Message-IDs are
`<mt.<ticket>.<nonce>.<sig>@<domain>>`, and every body we send ends with `[ref:<ticket>.<sig>]`
for relays that rewrite Message-IDs. Tokens use only lowercase letters, digits and dots,
because some MTAs lowercase local parts.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

_REPLY = re.compile(r"^(\d{1,12})\.(\d{1,12})\.(\d{1,12})(?:\.(\d{1,12}))?\.([0-9a-f]{16})$")
_SURVEY = re.compile(r"^csat\.(\d{1,12})\.([0-9a-f]{16})$")
_MESSAGE_ID = re.compile(r"^mt\.(\d{1,12})\.([0-9a-z]{8,32})\.([0-9a-f]{16})@")
MARKER = re.compile(r"\[ref:(\d{1,12})\.([0-9a-f]{12})\]")


@dataclass(frozen=True)
class ReplyToken:
    ticket_id: int
    agent_id: int | None  # None: a customer's reply address
    expires: datetime | None
    #: For an agent: the newest answer to the customer when the mail was sent (a message id,
    #: 0 for none); None in addresses given before the collision check existed.
    seen: int | None = None


def _sign(secret: bytes, purpose: str, *parts: object, length: int = 16) -> str:
    message = ":".join([purpose, *map(str, parts)]).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:length]


def reply_token(
    secret: bytes,
    ticket_id: int,
    agent_id: int | None = None,
    expires: datetime | None = None,
    seen: int | None = None,
) -> str:
    """A token for `support+<token>@…` naming the ticket and, for agents, the agent and the
    answer to the customer they have `seen`."""
    # Whole seconds, rounded up: a token must not die before the time it was given.
    until = math.ceil(expires.timestamp()) if expires else 0
    agent = agent_id or 0
    parts = (ticket_id, agent, until) if seen is None else (ticket_id, agent, until, seen)
    return ".".join(map(str, parts)) + "." + _sign(secret, "reply", *parts)


def read_reply_token(secret: bytes, token: str, now: datetime) -> ReplyToken | None:
    """The token's content when its signature holds and it has not expired, else None."""
    match = _REPLY.match(token.lower())
    if not match:
        return None
    ticket, agent, until, seen, signature = match.groups()
    parts = (ticket, agent, until) if seen is None else (ticket, agent, until, seen)
    if not hmac.compare_digest(signature, _sign(secret, "reply", *parts)):
        return None
    expires = datetime.fromtimestamp(int(until), UTC) if int(until) else None
    if expires is not None and expires < now:
        return None
    return ReplyToken(int(ticket), int(agent) or None, expires, None if seen is None else int(seen))


def survey_token(secret: bytes, ticket_id: int) -> str:
    """A token for `support+<token>@…` on which the customer answers a satisfaction request."""
    return f"csat.{ticket_id}.{_sign(secret, 'csat', ticket_id)}"


def read_survey_token(secret: bytes, token: str) -> int | None:
    """The ticket a satisfaction answer is about when the token's signature holds, else None."""
    match = _SURVEY.match(token.lower())
    if not match:
        return None
    ticket, signature = match.groups()
    if not hmac.compare_digest(signature, _sign(secret, "csat", ticket)):
        return None
    return int(ticket)


def message_id(secret: bytes, domain: str, ticket_id: int | None) -> str:
    """A new Message-ID (without brackets) for mail we send about `ticket_id`."""
    nonce = secrets.token_hex(8)
    ticket = ticket_id or 0
    return f"mt.{ticket}.{nonce}.{_sign(secret, 'mid', ticket, nonce)}@{domain}"


def ticket_of_message_id(secret: bytes, value: str) -> int | None:
    """The ticket named by one of our own Message-IDs, or None if it is not ours."""
    match = _MESSAGE_ID.match(value.strip().strip("<>").lower())
    if not match:
        return None
    ticket, nonce, signature = match.groups()
    if not hmac.compare_digest(signature, _sign(secret, "mid", ticket, nonce)):
        return None
    return int(ticket) or None


def marker(secret: bytes, ticket_id: int) -> str:
    """The reference marker for the end of every body we send about `ticket_id`."""
    return f"[ref:{ticket_id}.{_sign(secret, 'ref', ticket_id, length=12)}]"


def tickets_in_markers(secret: bytes, text: str) -> list[int]:
    """Tickets named by valid markers in `text` (quoted history included), in order."""
    found: list[int] = []
    for ticket, signature in MARKER.findall(text):
        valid = hmac.compare_digest(signature, _sign(secret, "ref", ticket, length=12))
        if valid and int(ticket) not in found:
            found.append(int(ticket))
    return found
