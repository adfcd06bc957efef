"""The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json`.

Written by hand beside the handlers it describes (its schemas in `schemas`); the
schemathesis test holds every response the daemon gives to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from mailtickets.endpoint.api.body import MAX_BODY
from mailtickets.endpoint.api.params import MAX_ID
from mailtickets.endpoint.api.reads import REPORTS
from mailtickets.endpoint.api.schemas import (
    NAME,
    SCHEMAS,
    STR,
    Schema,
    bodies,
    ref,
)
from mailtickets.endpoint.api.tickets import MAX_PAGE, PAGE, STATUSES


def _error(description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


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
                ("200", _json("one page", ref("TicketPage"))),
                parameters=[
                    _query("status", {"enum": list(STATUSES)}, "only tickets in this status"),
                    _query("queue", NAME, "a queue's address or name"),
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
                ("200", _json("the ticket", ref("Ticket"))),
                parameters=[_TICKET_ID],
                errors=_NOT_FOUND,
            ),
            "patch": _operation(
                "Change status, priority, assignee, or add tags (mails nobody)",
                ("200", _json("the ticket changed", ref("Ticket"))),
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
                ("201", _json("the note", ref("Written"))),
                write=True,
                parameters=[_TICKET_ID],
                body="Note",
                errors=_NOT_FOUND,
            )
        },
        "/tickets/{ticket_id}/replies": {
            "post": _operation(
                "An agent's reply, applied as their mailed reply is (leading #commands too)",
                ("201", _json("the reply, its mail queued", ref("Replied"))),
                write=True,
                parameters=[_TICKET_ID],
                body="Reply",
                errors={**_NOT_FOUND, **_MERGED},
            )
        },
        "/contacts/{address}": {
            "get": _operation(
                "A customer's history, as `contacts show --json`",
                ("200", _json("the contact", ref("Contact"))),
                parameters=[{"name": "address", "in": "path", "required": True, "schema": STR}],
                errors={"404": _error("no such contact"), "422": _error("not text")},
            )
        },
        "/reports/{kind}": {
            "get": _operation(
                "A report, as `report KIND --json`",
                ("200", _json("the report", ref("Report"))),
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
                ("200", _json("the report", ref("Report"))),
                parameters=[_SINCE, _query("queue", NAME, "a queue's address or name")],
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
            "schemas": SCHEMAS | bodies(agents),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
