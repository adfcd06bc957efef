"""What a webhook delivery carries: the JSON event or a Slack message, and its signature.

A JSON delivery is `{"id", "type", "created_at", "data"}`, `data.ticket` being the ticket
as `tickets show --json` shows it; `format = "slack"` posts what Slack's and Mattermost's
incoming webhooks accept: `text` (mrkdwn) with the same text in a section block and the
ticket's state in a context block. Either is signed the same way:
`X-Mailtickets-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mailtickets.db.models import Ticket, WebhookDelivery
from mailtickets.services.views import show_ticket

TIMESTAMP_HEADER = "X-Mailtickets-Timestamp"
SIGNATURE_HEADER = "X-Mailtickets-Signature"
EVENT_HEADER = "X-Mailtickets-Event"
#: What `mailtickets webhooks test` posts: about no ticket, never queued.
TEST_EVENT = "webhook.test"
#: How much of a message's text a Slack message quotes.
EXCERPT = 600
#: Slack refuses a section whose text is longer (Block Kit reference, "Section").
SECTION_LIMIT = 3000
_CUT_ENTITY = re.compile(r"&[a-z]*$")


def body(session: Session, row: WebhookDelivery, form: str) -> str:
    """The body of `row` in `form` ("json" or "slack"), the ticket read as it is now."""
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
    shown = show_ticket(session, ticket.id) if ticket is not None else None
    if form == "slack":
        return _dumps(slack_message(row.type, row.data, shown))
    return event_json(row.event_id, row.type, row.created_at, {"ticket": shown, **row.data})


def event_json(event_id: str, event_type: str, created_at: datetime, data: dict[str, Any]) -> str:
    return _dumps(
        {"id": event_id, "type": event_type, "created_at": created_at.isoformat(), "data": data}
    )


def test_body(form: str, text: str, now: datetime) -> str:
    """A `webhook.test` event saying `text`, in `form`."""
    if form == "slack":
        return _dumps({"text": _esc(text)})
    return event_json(str(uuid.uuid4()), TEST_EVENT, now, {"ticket": None, "message": text})


def signed_headers(
    body: bytes, secret: bytes | None, timestamp: int, event_type: str
) -> dict[str, str]:
    """The headers of one attempt; the timestamp is the attempt's, against replays."""
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: event_type,
        TIMESTAMP_HEADER: str(timestamp),
    }
    if secret is not None:
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    return headers


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def slack_message(
    event_type: str, data: dict[str, Any], ticket: dict[str, Any] | None
) -> dict[str, Any]:
    """A message for a Slack or Mattermost incoming webhook."""
    text = _headline(event_type, data, ticket)
    excerpt = _excerpt(event_type, data, ticket)
    section = f"{text}\n>{_quote(excerpt)}" if excerpt else text
    if len(section) > SECTION_LIMIT:  # escaping can make short texts long
        section = _CUT_ENTITY.sub("", section[: SECTION_LIMIT - 1]) + "…"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": section}}
    ]
    if ticket is not None:
        state = (
            f"{ticket['queue']} · {ticket['status']} · {ticket['priority']}"
            f" · {ticket['assignee'] or 'unassigned'}"
        )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _esc(state)}]})
    return {"text": text, "blocks": blocks}


def _headline(event_type: str, data: dict[str, Any], ticket: dict[str, Any] | None) -> str:
    name = (
        f"#{ticket['id']} “{_esc(ticket['subject'])}”" if ticket is not None else "a deleted ticket"
    )
    who = _esc(str(data.get("actor") or "mailtickets"))
    match event_type:
        case "ticket.created":
            return f"New ticket {name} from {who}"
        case "ticket.replied":
            return f"{'Agent' if data.get('by') == 'agent' else 'Customer'} {who} replied on {name}"
        case "ticket.note_added":
            return f"{who} added a note to {name}"
        case "ticket.status_changed":
            return f"{name} is now {_said(data, 'status')} (was {_said(data, 'previous')})"
        case "ticket.priority_changed":
            return f"{name} has priority {_said(data, 'priority')} (was {_said(data, 'previous')})"
        case "ticket.assigned":
            assignee = data.get("assignee")
            return f"{name} assigned to {_esc(assignee)}" if assignee else f"{name} unassigned"
        case "ticket.tagged":
            return f"{name} tagged {_esc(str(data.get('tag')))}"
        case "ticket.merged":
            return f"{name} merged into #{data.get('into')}"
        case "ticket.delivery_failed":
            return f"Mail about {name} could not be delivered: {_esc(str(data.get('reason')))}"
        case "sla.warning" | "sla.breached":
            what = "SLA breached" if event_type == "sla.breached" else "SLA warning"
            return (
                f"{what} on {name}: {_esc(str(data.get('clock')))} due {_esc(str(data.get('due')))}"
            )
        case "satisfaction.rated":
            return f"{who} rated {name}: {data.get('rating')}/5"
    return f"{_esc(event_type)} on {name}"


def _said(data: dict[str, Any], key: str) -> str:
    return _esc(str(data.get(key)))


def _excerpt(event_type: str, data: dict[str, Any], ticket: dict[str, Any] | None) -> str:
    """The new text of the message the event is about (a new ticket's: its first)."""
    if ticket is None or not ticket["messages"]:
        return ""
    message_id = data.get("message_id")
    if event_type == "ticket.created":
        message_id = ticket["messages"][0]["message_id"]
    for message in ticket["messages"]:
        if message_id is not None and message["message_id"] == message_id:
            text = str(message["new_text"]).strip()
            return text if len(text) <= EXCERPT else text[:EXCERPT].rstrip() + "…"
    return ""


def _quote(text: str) -> str:
    return _esc(text).replace("\n", "\n>")


def _esc(text: str) -> str:
    """Slack's three control characters: `<!channel>` written by a customer stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
