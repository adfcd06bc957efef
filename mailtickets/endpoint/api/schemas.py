"""The schemas of the OpenAPI document: what each answer and each request body holds.

Objects list the fields that are a contract (README "Commands"); they may carry more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mailtickets.endpoint.api.reads import REPORTS
from mailtickets.endpoint.api.tickets import PRIORITIES, STATUSES

Schema = dict[str, Any]

STR = {"type": "string"}
INT = {"type": "integer"}
NULL_STR = {"type": ["string", "null"]}
NULL_INT = {"type": ["integer", "null"]}
NULL_NUM = {"type": ["number", "null"]}
WHEN = {"type": "string", "format": "date-time"}
NULL_WHEN = {"type": ["string", "null"], "format": "date-time"}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    return {
        "type": "object",
        "required": list(required),
        "properties": required | (optional or {}),
    }


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def array(item: Schema) -> Schema:
    return {"type": "array", "items": item}


#: What a ticket's row in a list and the whole ticket both have.
_TICKET: dict[str, Schema] = {
    "id": INT,
    "subject": STR,
    "status": {"enum": list(STATUSES)},
    "priority": {"enum": list(PRIORITIES)},
    "queue": STR,
    "customer": STR,
    "assignee": NULL_STR,
    "created_at": WHEN,
    "updated_at": WHEN,
}

SCHEMAS: dict[str, Schema] = {
    "Error": obj({"error": STR, "detail": STR}),
    "TicketRow": obj({**_TICKET, "messages": {**INT, "description": "how many"}}),
    "TicketPage": obj(
        {"tickets": array(ref("TicketRow")), "next_cursor": NULL_STR},
    ),
    "Attachment": obj(
        {
            "number": INT,
            "filename": STR,
            "content_type": STR,
            "size": INT,
            "inline": {"type": "boolean"},
            "omitted": NULL_STR,
        }
    ),
    "Message": obj(
        {
            "message_id": STR,
            "direction": {"enum": ["in", "out"]},
            "author": STR,
            "kind": STR,
            "date": NULL_WHEN,
            "new_text": STR,
            "attachments": array(ref("Attachment")),
        },
        {"template": STR, "delivery": STR},
    ),
    "Outgoing": obj(
        {
            "id": INT,
            "ticket": NULL_INT,
            "template": STR,
            "recipients": array(STR),
            "status": {"enum": ["pending", "sent", "failed"]},
            "held": {"type": "boolean"},
            "attempts": INT,
            "created_at": WHEN,
            "sent_at": NULL_WHEN,
            "last_error": NULL_STR,
            "message_id": STR,
        }
    ),
    "Ticket": obj(
        {
            **_TICKET,
            "linked_ticket": NULL_INT,
            "tags": array(STR),
            "participants": array(
                obj({"address": STR, "name": NULL_STR, "role": {"enum": ["requester", "cc"]}})
            ),
            "messages": array(ref("Message")),
            "events": array(
                obj({"at": WHEN, "kind": STR, "actor": NULL_STR, "data": {"type": "object"}})
            ),
            "outgoing": array(ref("Outgoing")),
        }
    ),
    "Written": obj({"ticket": INT, "message_id": STR}),
    "Replied": obj({"ticket": INT, "message_id": STR, "outcome": STR}),
    "Contact": obj(
        {
            "address": STR,
            "name": NULL_STR,
            "locale": NULL_STR,
            "since": WHEN,
            "suppressed": NULL_STR,
            "open": INT,
            "median_first_response_minutes": NULL_NUM,
            "average_rating": NULL_NUM,
            "tickets": array(
                obj(
                    {
                        "id": INT,
                        "subject": STR,
                        "status": {"enum": list(STATUSES)},
                        "queue": STR,
                        "created_at": WHEN,
                        "first_response_minutes": NULL_NUM,
                        "rating": NULL_INT,
                    }
                )
            ),
            "ratings": array(
                obj({"ticket": NULL_INT, "rating": INT, "comment": NULL_STR, "rated_at": WHEN})
            ),
        }
    ),
    "Report": obj(
        {"report": {"enum": list(REPORTS)}, "since": WHEN, "rows": array({"type": "object"})}
    ),
}

#: A name to look for: any text but NUL, which no database compares.
NAME = {"type": "string", "pattern": r"^[^\u0000]*$"}
#: Text with something in it, and no NUL (no database stores one).
TEXT = {"type": "string", "pattern": r"^[^\u0000]*[^\u0000\s][^\u0000]*$"}


def bodies(agents: Sequence[str]) -> dict[str, Schema]:
    """The request bodies; `agents` are the addresses an author or assignee may be."""
    agent: Schema = {"enum": list(agents)} if agents else {"type": "string"}
    agent = {**agent, "description": "an agent's address"}
    nobody: Schema = {"anyOf": [agent, {"type": "null", "description": "nobody"}]}
    return {
        "Note": {**obj({"text": TEXT}, {"author": agent}), "additionalProperties": False},
        "Reply": {
            **obj(
                {
                    "text": {
                        **TEXT,
                        "description": "the answer; leading #commands apply as by mail",
                    },
                    "author": agent,
                }
            ),
            "additionalProperties": False,
        },
        "Change": _change(nobody),
    }


def _change(assignee: Schema) -> Schema:
    return {
        "type": "object",
        "properties": {
            "status": {"enum": list(STATUSES)},
            "priority": {"enum": list(PRIORITIES)},
            "assignee": assignee,
            "tags": {
                "type": "array",
                "items": {
                    "type": "string",
                    "maxLength": 50,
                    "pattern": "^[A-Za-z0-9_-]*[A-Za-z0-9][A-Za-z0-9_-]*$",
                },
                "description": "tags to add, words as `#tag` takes them; none is removed",
            },
        },
        "additionalProperties": False,
    }
