"""Tickets over HTTP: list, show, a file, a note, and changes (status, priority, assignee,
tags), each through the same services as `mailtickets tickets …`.

A change never mails the customer, as with the CLI: to tell them, reply (`reply`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mailtickets.config.reader import duration
from mailtickets.db import files
from mailtickets.db.driver import of_session
from mailtickets.db.models import Agent, Priority, TicketStatus
from mailtickets.endpoint.api.body import json_object, plain, text
from mailtickets.endpoint.api.context import ApiContext
from mailtickets.endpoint.api.errors import ApiError
from mailtickets.endpoint.api.params import (
    after_cursor,
    path_number,
    query_flag,
    query_int,
    query_text,
)
from mailtickets.mail.commands import parse_commands
from mailtickets.outbox.attachments import ticket_files
from mailtickets.services import tickets as service
from mailtickets.services.ticket_list import list_tickets, view
from mailtickets.services.views import show_ticket

PAGE = 50
MAX_PAGE = 200
STATUSES = tuple(s.value for s in TicketStatus)
PRIORITIES = tuple(p.value for p in Priority)


def actor(request: Request) -> str:
    """Who the ticket's history names for a change made with a token."""
    return f"api:{request.state.token.name}"


async def list_(ctx: ApiContext, request: Request) -> Response:
    status = request.query_params.get("status")
    if status is not None and status not in STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(STATUSES)}")
    queue = query_text(request, "queue")
    due_within = request.query_params.get("due_within")
    due_before: datetime | None = None
    if due_within is not None:
        try:
            due_before = ctx.clock.now() + duration(due_within)
        except (ValueError, OverflowError) as exc:
            raise ApiError(400, f"due_within: {exc}") from exc
    if query_flag(request, "breached"):
        due_before = ctx.clock.now()
    limit = query_int(request, "limit", PAGE, 1, MAX_PAGE)
    after = after_cursor(request)

    def read() -> list[dict[str, Any]]:
        with ctx.sessions() as session:
            listed = list_tickets(
                of_session(session), status, queue, due_before, after=after, limit=limit + 1
            )
            return [view(ticket) for ticket in listed]

    rows = await run_in_threadpool(read)
    more = len(rows) > limit
    rows = rows[:limit]
    # The cursor is the last ticket given: a page never skips or repeats one, whatever is
    # opened meanwhile.
    cursor = str(rows[-1]["id"]) if more else None
    return JSONResponse({"tickets": rows, "next_cursor": cursor})


async def show(ctx: ApiContext, request: Request) -> Response:
    ticket_id = path_number(request, "ticket_id", "ticket")

    def read() -> dict[str, Any]:
        with ctx.sessions() as session:
            return show_ticket(session, ticket_id)

    return JSONResponse(await run_in_threadpool(read))


async def attachment(ctx: ApiContext, request: Request) -> Response:
    ticket_id = path_number(request, "ticket_id", "ticket")
    number = path_number(request, "number", f"file of ticket #{ticket_id} numbered")

    def read() -> tuple[str, str, bytes]:
        with ctx.sessions() as session:
            listed = ticket_files(session, service.find(session, ticket_id))
            if number > len(listed):
                raise ApiError(404, f"ticket #{ticket_id} has no file {number}")
            row = listed[number - 1].row
            content = files.read(session, [row.id]).get(row.id)
        if content is None:
            raise ApiError(
                404, f"file {number} of ticket #{ticket_id} was not kept: {row.omitted}", "not_kept"
            )
        return row.filename, row.content_type, content

    filename, content_type, content = await run_in_threadpool(read)
    return Response(
        content,
        media_type=content_type if _is_media_type(content_type) else "application/octet-stream",
        headers={
            "Content-Disposition": content_disposition(filename),
            # A file is the customer's, never a page of ours: no sniffing, no scripts.
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def content_disposition(filename: str) -> str:
    """`attachment` with the file's own name, safe in a header and as a file name: no
    directories, no quotes or control characters; the name in UTF-8 beside an ASCII one."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"').strip(". ") or "file"
    ascii_name = "".join(c if c.isascii() and c not in ";%" else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _is_media_type(value: str) -> bool:
    kind, slash, sub = value.partition("/")
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-")
    return bool(slash and kind and sub) and set(kind.lower() + sub.lower()) <= allowed


async def add_note(ctx: ApiContext, request: Request) -> Response:
    ticket_id = path_number(request, "ticket_id", "ticket")
    body = await json_object(request, {"text", "author"})
    note = text(body, "text", required=True)
    author = text(body, "author")
    assert note is not None

    def write() -> dict[str, Any]:
        with ctx.sessions.begin() as session:
            ticket = service.find(session, ticket_id)
            agent = _agent(session, author) if author is not None else None
            message = service.add_note(session, ticket, note, agent, ctx.clock.now())
            return {"ticket": ticket.id, "message_id": message.message_id}

    return JSONResponse(await run_in_threadpool(write), status_code=201)


async def change(ctx: ApiContext, request: Request) -> Response:
    ticket_id = path_number(request, "ticket_id", "ticket")
    body = await json_object(request, {"status", "priority", "assignee", "tags"})
    status = _choice(body, "status", STATUSES)
    priority = _choice(body, "priority", PRIORITIES)
    tags = _tags(body)
    assignee = text(body, "assignee")
    who = actor(request)

    def write() -> dict[str, Any]:
        with ctx.sessions.begin() as session:
            ticket = service.find(session, ticket_id)
            if ticket.merged_into_id is not None:
                raise ApiError(
                    409, f"ticket #{ticket.id} was merged into #{ticket.merged_into_id}", "merged"
                )
            now, sla = ctx.clock.now(), ctx.pipeline.sla
            if "assignee" in body:
                target = _agent(session, assignee) if assignee is not None else None
                service.assign(session, ticket, target, now, who)
            if priority is not None:
                service.set_priority(session, ticket, Priority(priority), now, who, sla=sla)
            for tag in tags:
                service.add_tag(session, ticket, tag, now, who)
            if status is not None:
                service.set_status(session, ticket, TicketStatus(status), now, who, sla=sla)
            session.flush()
            return show_ticket(session, ticket.id)

    return JSONResponse(await run_in_threadpool(write))


def _agent(session: Session, address: str) -> Agent:
    agent = session.scalar(select(Agent).where(Agent.address == address.strip().lower()))
    if agent is None or not agent.active:
        raise ApiError(422, f"{address} is not an agent")
    return agent


def _choice(body: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if value not in allowed:
        raise ApiError(422, f"{key} must be one of {', '.join(allowed)}")
    return str(value)


def _tags(body: dict[str, Any]) -> list[str]:
    """Tags to add, each a word `#tag` would take (the same rule, the same lowercasing)."""
    value = body.get("tags")
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(422, "tags must be a list of words")
    words = []
    for tag in value:
        parsed = parse_commands(f"#tag {plain('tags', tag)}")
        if parsed.errors or parsed.text or len(parsed.commands) != 1:
            raise ApiError(422, f"tag {tag!r}: letters, digits, - and _ only")
        words.append(parsed.commands[0].argument)
    return list(dict.fromkeys(words))
