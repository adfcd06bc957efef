"""The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json`.

Written by hand beside the handlers it describes; the schemathesis test holds every
response the daemon gives to it. Objects list the fields that are a contract (README
"Commands"); they may carry more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mailtickets.endpoint.api.body import MAX_BODY
from mailtickets.endpoint.api.params import MAX_ID
from mailtickets.endpoint.api.reads import REPORTS
from mailtickets.endpoint.api.tickets import MAX_PAGE, PAGE, PRIORITIES, STATUSES

Schema = dict[str, Any]

_STR = {"type": "string"}
_INT = {"type": "integer"}
_NULL_STR = {"type": ["string", "null"]}
_NULL_INT = {"type": ["integer", "null"]}
_NULL_NUM = {"type": ["number", "null"]}
_WHEN = {"type": "string", "format": "date-time"}
_NULL_WHEN = {"type": ["string", "null"], "format": "date-time"}


def _object(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    return {
        "type": "object",
        "required": list(required),
        "properties": required | (optional or {}),
    }


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(item: Schema) -> Schema:
    return {"type": "array", "items": item}


#: What a ticket's row in a list and the whole ticket both have.
_TICKET: dict[str, Schema] = {
    "id": _INT,
    "subject": _STR,
    "status": {"enum": list(STATUSES)},
    "priority": {"enum": list(PRIORITIES)},
    "queue": _STR,
    "customer": _STR,
    "assignee": _NULL_STR,
    "created_at": _WHEN,
    "updated_at": _WHEN,
}

_SCHEMAS: dict[str, Schema] = {
    "Error": _object({"error": _STR, "detail": _STR}),
    "TicketRow": _object({**_TICKET, "messages": {**_INT, "description": "how many"}}),
    "TicketPage": _object(
        {"tickets": _list(_ref("TicketRow")), "next_cursor": _NULL_STR},
    ),
    "Attachment": _object(
        {
            "number": _INT,
            "filename": _STR,
            "content_type": _STR,
            "size": _INT,
            "inline": {"type": "boolean"},
            "omitted": _NULL_STR,
        }
    ),
    "Message": _object(
        {
            "message_id": _STR,
            "direction": {"enum": ["in", "out"]},
            "author": _STR,
            "kind": _STR,
            "date": _NULL_WHEN,
            "new_text": _STR,
            "attachments": _list(_ref("Attachment")),
        },
        {"template": _STR, "delivery": _STR},
    ),
    "Outgoing": _object(
        {
            "id": _INT,
            "ticket": _NULL_INT,
            "template": _STR,
            "recipients": _list(_STR),
            "status": {"enum": ["pending", "sent", "failed"]},
            "held": {"type": "boolean"},
            "attempts": _INT,
            "created_at": _WHEN,
            "sent_at": _NULL_WHEN,
            "last_error": _NULL_STR,
            "message_id": _STR,
        }
    ),
    "Ticket": _object(
        {
            **_TICKET,
            "linked_ticket": _NULL_INT,
            "tags": _list(_STR),
            "participants": _list(
                _object({"address": _STR, "name": _NULL_STR, "role": {"enum": ["requester", "cc"]}})
            ),
            "messages": _list(_ref("Message")),
            "events": _list(
                _object({"at": _WHEN, "kind": _STR, "actor": _NULL_STR, "data": {"type": "object"}})
            ),
            "outgoing": _list(_ref("Outgoing")),
        }
    ),
    "Written": _object({"ticket": _INT, "message_id": _STR}),
    "Replied": _object({"ticket": _INT, "message_id": _STR, "outcome": _STR}),
    "Contact": _object(
        {
            "address": _STR,
            "name": _NULL_STR,
            "locale": _NULL_STR,
            "since": _WHEN,
            "suppressed": _NULL_STR,
            "open": _INT,
            "median_first_response_minutes": _NULL_NUM,
            "average_rating": _NULL_NUM,
            "tickets": _list(
                _object(
                    {
                        "id": _INT,
                        "subject": _STR,
                        "status": {"enum": list(STATUSES)},
                        "queue": _STR,
                        "created_at": _WHEN,
                        "first_response_minutes": _NULL_NUM,
                        "rating": _NULL_INT,
                    }
                )
            ),
            "ratings": _list(
                _object(
                    {"ticket": _NULL_INT, "rating": _INT, "comment": _NULL_STR, "rated_at": _WHEN}
                )
            ),
        }
    ),
    "Report": _object(
        {"report": {"enum": list(REPORTS)}, "since": _WHEN, "rows": _list({"type": "object"})}
    ),
}

#: A name to look for: any text but NUL, which no database compares.
_NAME = {"type": "string", "pattern": r"^[^\u0000]*$"}
#: Text with something in it, and no NUL (no database stores one).
_TEXT = {"type": "string", "pattern": r"^[^\u0000]*[^\u0000\s][^\u0000]*$"}


def _bodies(agents: Sequence[str]) -> dict[str, Schema]:
    """The request bodies; `agents` are the addresses an author or assignee may be."""
    agent: Schema = {"enum": list(agents)} if agents else {"type": "string"}
    agent = {**agent, "description": "an agent's address"}
    nobody: Schema = {"anyOf": [agent, {"type": "null", "description": "nobody"}]}
    return {
        "Note": {**_object({"text": _TEXT}, {"author": agent}), "additionalProperties": False},
        "Reply": {
            **_object(
                {
                    "text": {
                        **_TEXT,
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


def _error(description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _json(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_READ_ERRORS = {
    "401": _error("no token, or not one of ours"),
    "503": _error("the database cannot be used now (Retry-After)"),
}
_WRITE_ERRORS = {
    **_READ_ERRORS,
    "403": _error("a read token"),
    "400": _error("the body is not JSON"),
    "408": _error("the body came too slowly"),
    "413": _error(f"the body is larger than {MAX_BODY} bytes"),
    "415": _error("the body is not sent as application/json"),
    "422": _error("a field is unknown or invalid"),
}

_TICKET_ID = {
    "name": "ticket_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _operation(
    summary: str,
    ok: tuple[str, Schema],
    *,
    write: bool = False,
    parameters: list[Schema] | None = None,
    body: str | None = None,
    errors: dict[str, Schema] | None = None,
) -> Schema:
    responses = {ok[0]: ok[1], **(_WRITE_ERRORS if write else _READ_ERRORS), **(errors or {})}
    operation: Schema = {
        "summary": summary,
        "security": [{"bearer": [("write" if write else "read")]}],
        "parameters": parameters or [],
        "responses": responses,
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    return operation


_SINCE = _query("since", {"type": "string", "format": "date"}, "from this day (UTC)")
_NOT_FOUND = {"404": _error("no such ticket")}
_MERGED = {"409": _error("the ticket was merged into another")}


def document(agents: Sequence[str]) -> Schema:
    """The whole document, paths under the server URL `/api/v1`, for a site whose agents'
    addresses are `agents`."""
    paths = {
        "/tickets": {
            "get": _operation(
                "Tickets, oldest first, a page at a time",
                ("200", _json("one page", _ref("TicketPage"))),
                parameters=[
                    _query("status", {"enum": list(STATUSES)}, "only tickets in this status"),
                    _query("queue", _NAME, "a queue's address or name"),
                    _query(
                        "due_within",
                        {"type": "string", "pattern": r"^[0-9]{1,4}(ms|s|m|h|d|w)$"},
                        'an SLA due within this ("1h", "30m")',
                    ),
                    _query("breached", {"type": "boolean"}, "only tickets past an SLA due time"),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": PAGE},
                        "tickets per page",
                    ),
                    _query(
                        "cursor",
                        {"type": "string", "pattern": "^[0-9]{1,9}$"},
                        "next_cursor of the page before",
                    ),
                ],
                errors={"400": _error("a parameter is invalid")},
            )
        },
        "/tickets/{ticket_id}": {
            "get": _operation(
                "One ticket, as `tickets show --json`",
                ("200", _json("the ticket", _ref("Ticket"))),
                parameters=[_TICKET_ID],
                errors=_NOT_FOUND,
            ),
            "patch": _operation(
                "Change status, priority, assignee, or add tags (mails nobody)",
                ("200", _json("the ticket changed", _ref("Ticket"))),
                write=True,
                parameters=[_TICKET_ID],
                body="Change",
                errors={**_NOT_FOUND, **_MERGED},
            ),
        },
        "/tickets/{ticket_id}/attachments/{number}": {
            "get": _operation(
                "File N of the ticket, numbered as the ticket lists them",
                (
                    "200",
                    {
                        "description": "the file, as an attachment",
                        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                    },
                ),
                parameters=[
                    _TICKET_ID,
                    {
                        "name": "number",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                    },
                ],
                errors={"404": _error("no such ticket or file, or the file was not kept")},
            )
        },
        "/tickets/{ticket_id}/notes": {
            "post": _operation(
                "An internal note: agents see it, the customer never does",
                ("201", _json("the note", _ref("Written"))),
                write=True,
                parameters=[_TICKET_ID],
                body="Note",
                errors=_NOT_FOUND,
            )
        },
        "/tickets/{ticket_id}/replies": {
            "post": _operation(
                "An agent's reply, applied as their mailed reply is (leading #commands too)",
                ("201", _json("the reply, its mail queued", _ref("Replied"))),
                write=True,
                parameters=[_TICKET_ID],
                body="Reply",
                errors={**_NOT_FOUND, **_MERGED},
            )
        },
        "/contacts/{address}": {
            "get": _operation(
                "A customer's history, as `contacts show --json`",
                ("200", _json("the contact", _ref("Contact"))),
                parameters=[{"name": "address", "in": "path", "required": True, "schema": _STR}],
                errors={"404": _error("no such contact"), "422": _error("not text")},
            )
        },
        "/reports/{kind}": {
            "get": _operation(
                "A report, as `report KIND --json`",
                ("200", _json("the report", _ref("Report"))),
                parameters=[
                    {
                        "name": "kind",
                        "in": "path",
                        "required": True,
                        "schema": {"enum": [k for k in REPORTS if k != "sla"]},
                    },
                    _SINCE,
                ],
                errors={"400": _error("a parameter is invalid"), "404": _error("no such report")},
            )
        },
        "/reports/sla": {
            "get": _operation(
                "How each queue kept its SLA, as `sla report --json`",
                ("200", _json("the report", _ref("Report"))),
                parameters=[_SINCE, _query("queue", _NAME, "a queue's address or name")],
                errors={"400": _error("a parameter is invalid")},
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "mailtickets", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": _SCHEMAS | _bodies(agents),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
